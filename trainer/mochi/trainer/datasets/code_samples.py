"""Code samples in the server's prompt format: fill-in-the-middle (optionally with
retrieved cross-file context, or prefix-only) and documented function -> body."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from mochi.rag.prompting import build_prompt, select_snippets
from mochi.trainer.datasets.spec import ContextSource, DatasetSpec
from mochi.trainer.datasets.units import Block, CodeUnit
from mochi.trainer.samples import Sample


@dataclass(frozen=True, slots=True)
class Renderer:
    """What every code sample of one build shares."""

    spec: DatasetSpec
    fim_template: str | None
    eos: str
    count_tokens: Callable[[str], int]
    context: ContextSource | None


@dataclass(frozen=True, slots=True)
class Origin:
    """The tree a file was read from: a commit ("" = working tree) and its time."""

    commit: str = ""
    time: int = 0


def file_lines(text: str) -> list[str]:
    """Lines with their newline, split on "\\n" only (as tree-sitter counts them)."""
    parts = text.split("\n")
    return [p + "\n" for p in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def unit_rng(seed: int, origin: Origin, unit: CodeUnit, salt: str = "") -> random.Random:
    """A generator that depends on the seed and the unit only, not on build order."""
    return random.Random(f"{seed}:{origin.commit}:{unit.key}:{salt}")


def pick_middles(unit: CodeUnit, count: int, rng: random.Random) -> list[Block]:
    if count >= len(unit.middles):
        return list(unit.middles)
    return sorted(rng.sample(list(unit.middles), count), key=lambda b: (b.first, b.last))


def fim_sample(
    render: Renderer,
    unit: CodeUnit,
    language: str,
    lines: list[str],
    block: Block,
    rng: random.Random,
    origin: Origin,
) -> Sample:
    """Prefix | middle (block's whole lines) | suffix, rendered by build_prompt.

    With probability 1 - fim_rate the suffix is dropped (a prefix-only prompt); with
    probability context_rate a FIM sample carries the context the server would show.
    A FIM middle ends with EOS (the template's end); a prefix-only one does not: the file
    goes on after it, and a model taught to stop there stops where code continues.
    """
    spec = render.spec
    use_fim = rng.random() < spec.fim_rate
    use_context = rng.random() < spec.context_rate
    start = block.first - 1
    prefix = "".join(lines[max(0, start - spec.max_prefix_lines) : start])
    middle = "".join(lines[start : block.last])
    suffix = "".join(lines[block.last : block.last + spec.max_suffix_lines]) if use_fim else ""
    snippets = []
    if use_fim and use_context and render.context is not None and spec.context_tokens > 0:
        candidates = render.context.snippets(unit.path, "".join(lines[:start]))
        snippets = select_snippets(candidates, spec.context_tokens, render.count_tokens, language)
    prompt = build_prompt(
        prefix=prefix,
        suffix=suffix,
        path=unit.path,
        language=language,
        snippets=snippets,
        fim_template=render.fim_template,
    )
    is_fim = use_fim and render.fim_template is not None
    return Sample(
        prompt=prompt.text,
        completion=middle + (render.eos if is_fim else ""),
        kind="fim-context" if snippets else "fim",
        path=unit.path,
        commit=origin.commit,
        time=origin.time,
    )


def doc_sample(
    render: Renderer, unit: CodeUnit, language: str, lines: list[str], origin: Origin
) -> Sample | None:
    """The file up to the signature and its docs -> the body (a continuation: no EOS);
    None when undocumented."""
    if unit.doc_end <= 0:
        return None
    body = "".join(lines[unit.doc_end : unit.body_last])
    if not body.strip():
        return None
    keep_from = min(unit.first - 1, unit.doc_end - render.spec.max_prefix_lines)
    prefix = "".join(lines[max(0, keep_from) : unit.doc_end])
    prompt = build_prompt(
        prefix=prefix,
        suffix="",
        path=unit.path,
        language=language,
        fim_template=render.fim_template,
    )
    return Sample(
        prompt=prompt.text,
        completion=body,
        kind="doc-to-code",
        path=unit.path,
        commit=origin.commit,
        time=origin.time,
    )


def file_window_samples(
    render: Renderer, path: str, language: str, lines: list[str], origin: Origin
) -> list[tuple[Sample, int, int]]:
    """The file as plain text in windows of `spec.file_window_lines` lines, each after the
    server's path line, the loss on every token (the whole window is the completion); with
    each window its first and last line (1-based). The cheapest way to teach a model a
    repository: every token of the code is a training target."""
    size = render.spec.file_window_lines
    head = build_prompt(prefix="", suffix="", path=path, language=language, fim_template=None).text
    out: list[tuple[Sample, int, int]] = []
    for start in range(0, len(lines), size):
        window = "".join(lines[start : start + size])
        if not window.strip():
            continue
        sample = Sample(head, window, "file", path, origin.commit, origin.time)
        out.append((sample, start + 1, min(len(lines), start + size)))
    return out
