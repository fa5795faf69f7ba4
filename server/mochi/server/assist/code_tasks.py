"""Model tasks behind the code actions: explain, docstring, tests.

Each task is a prompt for a plain causal model plus the post-processing that
turns its raw text into something to show or insert.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from mochi.rag.prompting.context import comment_prefix
from mochi.server.assist.code_units import CodeUnit
from mochi.server.generation import CancelToken, GenerationRequest, Generator

_PY_STRING = re.compile(r"""^\s*[rRuUbBfF]{0,2}("{3}|'{3}|"|')""")


@dataclass(frozen=True, slots=True)
class LineEdit:
    """Replace the document's lines [start, end) (0-based) with `text`; start == end
    inserts before line `start`."""

    start: int
    end: int
    text: str


def _generate(
    generator: Generator, prompt: str, stop: tuple[str, ...], max_tokens: int, cancel: CancelToken
) -> str:
    result = generator.generate(
        GenerationRequest(prompt=prompt, max_tokens=max_tokens, stop=stop), cancel
    )
    return result.text


def explain(generator: Generator, unit: CodeUnit, cancel: CancelToken) -> str:
    mark = comment_prefix(unit.language)
    prompt = (
        f"{unit.text}\n\n{mark} Question: what does `{unit.name}` above do?\n"
        f"{mark} Answer in two or three sentences: `{unit.name}`"
    )
    raw = _generate(generator, prompt, ("\n\n",), 120, cancel)
    lines = [ln.strip().removeprefix(mark).strip() for ln in raw.split("\n")]
    sentence = " ".join(ln for ln in lines if ln)
    return f"`{unit.name}` {sentence}".strip()


def _python_docstring(lines: list[str], first: int) -> int:
    """The line after the docstring that starts at `first`; `first` when there is none."""
    match = _PY_STRING.match(lines[first]) if first < len(lines) else None
    if match is None:
        return first
    quote = match.group(1)
    if quote in lines[first][match.end() :] or len(quote) == 1:
        return first + 1
    closing = (i for i in range(first + 1, len(lines)) if quote in lines[i])
    return next(closing, first) + 1


def _doc_comment(lines: list[str]) -> tuple[int, int]:
    """[start, end) of the `/** ... */` block before the unit's code; (0, 0) if none."""
    block = (0, 0)
    i = 0
    while i < len(lines) and lines[i].lstrip().startswith(("/*", "*", "//")):
        if lines[i].lstrip().startswith("/**"):
            end = next((j for j in range(i, len(lines)) if "*/" in lines[j]), i)
            block, i = (i, end + 1), end
        i += 1
    return block


def docstring(generator: Generator, unit: CodeUnit, cancel: CancelToken) -> LineEdit:
    """A docstring (Python) or doc comment (other languages) for the unit; it replaces
    the one the unit has, never adds a second."""
    lines = unit.text.split("\n")
    signature_end = next((i for i, ln in enumerate(lines) if ln.rstrip().endswith((":", "{"))), 0)
    top = unit.start_line - 1  # the unit's first line in the document (0-based)
    if unit.language == "python":
        first = signature_end + 1
        old_end = _python_docstring(lines, first)
        body = lines[first] if first < len(lines) else ""  # the old docstring or the code
        indent = body[: len(body) - len(body.lstrip())] or "    "
        head = "\n".join(lines[:first])
        raw = _generate(generator, f'{head}\n{indent}"""', ('"""',), 80, cancel)
        summary = " ".join(raw.split()).strip() or f"{unit.name}."
        return LineEdit(top + first, top + old_end, f'{indent}"""{summary}"""\n')
    start, end = _doc_comment(lines)
    code = lines[end] if end < len(lines) else lines[0]
    indent = code[: len(code) - len(code.lstrip())]
    raw = _generate(generator, f"{indent}/**\n{indent} * {unit.name}", ("*/",), 80, cancel)
    summary = " ".join(raw.replace("*", " ").split()).strip()
    text = f"{indent}/**\n{indent} * {unit.name}{(' ' + summary) if summary else ''}\n{indent} */\n"
    return LineEdit(top + start, top + end, text)


def test_file_path(source_path: str, unit: CodeUnit) -> str:
    stem = PurePosixPath(source_path).stem
    if unit.language == "python":
        return f"tests/test_{stem}_{unit.name.lower()}.py"
    suffix = PurePosixPath(source_path).suffix
    return f"tests/{stem}_{unit.name}.test{suffix}"


def python_module(source_path: str) -> str:
    parts = list(PurePosixPath(source_path).with_suffix("").parts)
    if parts and parts[0] in ("src", "lib"):
        parts = parts[1:]
    return ".".join(parts)


def tests_for(generator: Generator, source_path: str, unit: CodeUnit, cancel: CancelToken) -> str:
    """The text of a new test file for `unit`."""
    if unit.language == "python":
        name = unit.name
        header = f"from {python_module(source_path)} import {unit.symbol.split('.')[0]}\n\n\n"
        prompt = f"{unit.text}\n\n\n# Tests\n{header}def test_{name.lower()}"
        raw = _generate(generator, prompt, ("\n\n\n", "\nif __name__"), 200, cancel)
        return f"{header}def test_{name.lower()}{raw.rstrip()}\n"
    mark = comment_prefix(unit.language)
    prompt = f"{unit.text}\n\n{mark} Tests for {unit.name}\n"
    raw = _generate(generator, prompt, ("\n\n\n",), 200, cancel)
    return f"{mark} Tests for {unit.name} ({source_path})\n{raw.rstrip()}\n"
