"""Code samples: FIM cut at line boundaries inside units, in the server's prompt format."""

from __future__ import annotations

import re

import pytest
from dataset_repo import GEOMETRY_V2, DatasetRepo

from mochi.rag.chunking import DefaultChunker
from mochi.rag.prompting import FIM_TEMPLATES, build_prompt, select_snippets
from mochi.rag.prompting.context import comment_prefix
from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.rag.types import DocKind, Document, Hit, SearchFilters
from mochi.trainer.datasets import BuiltDataset, DatasetError, DatasetSpec, build_dataset
from mochi.trainer.samples import Sample

EOS = "<|endoftext|>"
QWEN = FIM_TEMPLATES["qwen"]
CODE_KINDS = {"fim", "fim-context"}


def words(text: str) -> int:
    return len(text.split())


def build(repo: DatasetRepo, **spec: object) -> BuiltDataset:
    options: dict[str, object] = {"eval_fraction": 0.0, "commit_pairs": False, **spec}
    return build_dataset(
        repo.root, DatasetSpec(**options), fim_template="qwen", eos=EOS, count_tokens=words
    )  # type: ignore[arg-type]


def language_of(path: str) -> str:
    return "python" if path.endswith(".py") else "javascript"


def path_line(path: str) -> str:
    return f"{comment_prefix(language_of(path))} {path}\n"


def fim_parts(sample: Sample) -> tuple[str, str, str, str]:
    """(head, prefix, suffix, middle) of a FIM sample rendered with the qwen template."""
    match = re.fullmatch(
        re.escape(QWEN.prefix) + r"(.*?)" + re.escape(QWEN.suffix) + r"(.*)"
        + re.escape(QWEN.middle),
        sample.prompt,
        re.S,
    )  # fmt: skip
    assert match is not None, sample.prompt
    head_and_prefix, suffix = match.groups()
    head = path_line(sample.path)
    assert head_and_prefix.startswith(head)
    assert sample.completion.endswith(EOS)
    return head, head_and_prefix[len(head) :], suffix, sample.completion[: -len(EOS)]


def unit_ranges(path: str, text: str, language: str) -> list[tuple[int, int]]:
    chunks = DefaultChunker().chunk(Document(path, text, DocKind.CODE, language, ""))
    return [(c.start_line, c.end_line) for c in chunks if c.kind in ("function", "method", "class")]


def test_fim_samples_split_the_file_at_line_boundaries_inside_units(
    dataset_repo: DatasetRepo,
) -> None:
    built = build(dataset_repo, fim_rate=1.0, context_rate=0.0, samples_per_unit=3)
    fims = [s for s in built.train if s.kind == "fim"]
    assert {s.path for s in fims} == {"pkg/geometry.py", "web/app.js"}  # creds.py: a secret
    for sample in fims:
        _, prefix, suffix, middle = fim_parts(sample)
        text = (dataset_repo.root / sample.path).read_text()
        lines = text.splitlines(keepends=True)
        region = prefix + middle + suffix
        start = text.find(region)
        assert start >= 0 and (start == 0 or text[start - 1] == "\n")
        first = text[: start + len(prefix)].count("\n") + 1  # the middle's first line
        last = first + middle.count("\n") - 1
        assert middle == "".join(lines[first - 1 : last]) and middle.endswith("\n")
        assert 1 <= middle.count("\n") <= 6
        assert prefix == "".join(lines[max(0, first - 1 - 60) : first - 1])
        assert suffix == "".join(lines[last : last + 30])
        language = language_of(sample.path)
        units = unit_ranges(sample.path, text, language)
        assert any(a < first and last <= b for a, b in units), (sample.path, first, last)
        expected = build_prompt(
            prefix=prefix, suffix=suffix, path=sample.path, language=language,
            fim_template="qwen",
        )  # fmt: skip
        assert sample.prompt == expected.text and expected.uses_fim


def test_fim_rate_decides_between_fim_and_prefix_only_prompts(dataset_repo: DatasetRepo) -> None:
    every = build(dataset_repo, fim_rate=1.0, context_rate=0.0, docstring_pairs=False)
    assert every.train and all(QWEN.middle in s.prompt for s in every.train)
    none = build(dataset_repo, fim_rate=0.0, docstring_pairs=False)
    assert len(none.train) == len(every.train)
    for sample in none.train:
        assert not any(t in sample.prompt for t in (QWEN.prefix, QWEN.suffix, QWEN.middle))
        assert sample.kind == "fim" and sample.prompt.startswith(path_line(sample.path))
        # prefix-only: the prompt ends where the middle starts, and the middle is a
        # continuation (the file goes on): no EOS
        text = (dataset_repo.root / sample.path).read_text()
        region = sample.prompt[len(path_line(sample.path)) :] + sample.completion
        assert region in text and not sample.completion.endswith(EOS)


class OtherFileRetriever:
    """Stands in for the index: every query finds the same two snippets."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def retrieve(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        self.queries.append(query)
        return [
            Hit("pkg/units.py", 3, 9, 0.9, "def to_metres(feet):\n    return feet * 0.3048\n",
                "function", "python", "to_metres"),
            Hit("web/app.js", 2, 5, 0.8, "function add(a, b) {\n  return a + b;\n}\n",
                "function", "javascript", "add"),
        ]  # fmt: skip


def test_context_samples_carry_the_servers_context_block(dataset_repo: DatasetRepo) -> None:
    retriever = OtherFileRetriever()
    context = ContextBuilder(retriever)
    built = build_dataset(
        dataset_repo.root,
        DatasetSpec(fim_rate=1.0, context_rate=1.0, eval_fraction=0.0, commit_pairs=False,
                    docstring_pairs=False),
        fim_template="qwen", eos=EOS, count_tokens=words, context=context,
    )  # fmt: skip
    with_context = [s for s in built.train if s.kind == "fim-context"]
    assert with_context and retriever.queries
    for sample in with_context:
        assert "Related code from this repository:" in sample.prompt
        _, prefix, suffix, middle = fim_parts(
            Sample(re.sub(r"(?s)^<\|fim_prefix\|>.*?End of related code\.\n\n",
                          QWEN.prefix, sample.prompt), sample.completion, "fim", sample.path)
        )  # fmt: skip
        text = (dataset_repo.root / sample.path).read_text()
        before = text[: text.index(prefix + middle + suffix) + len(prefix)]
        language = language_of(sample.path)
        snippets = select_snippets(context.snippets(sample.path, before), 384, words, language)
        assert all(s.path != sample.path for s in snippets)  # never the file itself
        expected = build_prompt(
            prefix=prefix, suffix=suffix, path=sample.path, language=language,
            snippets=snippets, fim_template="qwen",
        )  # fmt: skip
        assert sample.prompt == expected.text
    assert any("to_metres" in s.prompt for s in with_context)
    no_context = build(dataset_repo, fim_rate=1.0, context_rate=0.0, docstring_pairs=False)
    assert all(s.kind == "fim" for s in no_context.train)


def test_docstring_pairs_prompt_with_signature_and_docs_complete_with_the_body(
    dataset_repo: DatasetRepo,
) -> None:
    built = build(dataset_repo, samples_per_unit=0)
    docs = {s.completion: s for s in built.train if s.kind == "doc-to-code"}
    volume = docs[
        "    cubed = radius * radius * radius\n    scaled = 4.0 * cubed / 3.0\n"
        "    return math.pi * scaled\n"
    ]
    head = GEOMETRY_V2[: GEOMETRY_V2.index("    cubed = radius")]
    assert volume.prompt == f"# pkg/geometry.py\n{head}"
    assert volume.prompt.endswith(
        'def volume(radius):\n    """Volume of a ball of this radius."""\n'
    )
    subtract = [s for s in docs.values() if "subtract" in s.prompt.splitlines()[-1]]
    assert len(subtract) == 1  # JS: a doc comment above the function
    assert subtract[0].prompt.endswith("/** Subtract b from a. */\nfunction subtract(a, b) {\n")
    assert subtract[0].completion == "  const difference = a - b;\n  return difference;\n}\n"
    assert not any("norm" in s.prompt.splitlines()[-1] for s in docs.values())  # undocumented
    assert all(QWEN.middle not in s.prompt for s in docs.values())
    with pytest.raises(DatasetError, match="nothing to train on"):
        build(dataset_repo, samples_per_unit=0, docstring_pairs=False)


def test_same_seed_same_dataset_other_seed_other_choices(dataset_repo: DatasetRepo) -> None:
    one = build(dataset_repo, seed=7, fim_rate=0.5, samples_per_unit=1, eval_fraction=0.3)
    two = build(dataset_repo, seed=7, fim_rate=0.5, samples_per_unit=1, eval_fraction=0.3)
    assert one.card.sha256 == two.card.sha256 and one.train == two.train
    others = {
        build(dataset_repo, seed=s, fim_rate=0.5, samples_per_unit=1, eval_fraction=0.3).card.sha256
        for s in range(3)
    }
    assert len(others) > 1


def test_file_windows_cover_every_line_of_each_code_file_once(dataset_repo: DatasetRepo) -> None:
    built = build(dataset_repo, file_window_lines=3, samples_per_unit=0, docstring_pairs=False)
    windows = [s for s in built.train if s.kind == "file"]
    assert windows and len(windows) == len(built.train)
    by_path: dict[str, str] = {}
    for sample in windows:
        assert sample.prompt == path_line(sample.path)  # the server's path line, no FIM
        assert not sample.completion.endswith(EOS)  # the file goes on
        assert len(sample.completion.splitlines()) <= 3
        by_path[sample.path] = by_path.get(sample.path, "") + sample.completion
    for path, text in by_path.items():  # in order, nothing left out, nothing twice
        source = (dataset_repo.root / path).read_text()
        if "AKIA" in source:  # the window that shows the planted key is dropped
            assert "AKIA" not in text and text != source
        else:
            assert text == source
    assert "pkg/geometry.py" in by_path
    assert not [s for s in build(dataset_repo, samples_per_unit=1).train if s.kind == "file"]
