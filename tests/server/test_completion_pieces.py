"""The completion pipeline's pure parts: post-processing, the file window, the context
query, snippet selection and prompt assembly."""

from __future__ import annotations

import pytest

from mochi.rag.prompting import ContextSnippet, build_prompt, detect_fim_template, select_snippets
from mochi.rag.prompting.retrieved import context_query
from mochi.rag.prompting.window import STEP_LINES, split_at, window
from mochi.server.completion.postprocess import clean_completion


def words(text: str) -> int:
    return len(text.split()) + 1


@pytest.mark.parametrize(
    ("raw", "prefix", "suffix", "multiline", "expected"),
    [
        (" a + b\n\ndef other():", "def add(a, b):\n    return", "", False, " a + b"),
        ("x)", "print(", ")\n", False, "x"),  # the editor already closed the bracket
        ("\n    return 1\n", "def f():\n", "", False, "    return 1"),  # skip a leading newline
        ("\n", "x = 1", "", False, None),  # a line end is all there is
        ("    return 1\n    x = 2\ny = 3", "def f():\n", "", True, "    return 1\n    x = 2"),
        ("   ", "x = ", "", False, None),
        ("foo()", "x = ", "foo()\n", False, None),  # only repeats what follows the cursor
        # at a blank line start: skip the newlines, and the indent the line already has
        ("\n\n    pass", "def f():\n    ", "", True, "pass"),
        ("\n        x = 1\n", "    def f(self):\n        ", "", False, "x = 1"),
    ],
)
def test_clean_completion(
    raw: str, prefix: str, suffix: str, multiline: bool, expected: str | None
) -> None:
    assert clean_completion(raw, prefix=prefix, suffix=suffix, multiline=multiline) == expected


def test_split_at_lsp_position() -> None:
    assert split_at("ab\ncd\nef", 1, 1) == ("ab\nc", "d\nef")
    assert split_at("ab\ncd", 5, 0) == ("ab\n", "cd")  # line past the end: last line
    assert split_at("ab", 0, 99) == ("ab", "")


def test_window_start_moves_in_steps_so_the_prompt_head_is_stable() -> None:
    prefix = "\n".join(f"line number {i}" for i in range(200))
    first = window(prefix, "", budget_tokens=200, count_line=words)
    typed = window(prefix + " more words", "", budget_tokens=200, count_line=words)
    assert first.prefix.split("\n")[0] == typed.prefix.split("\n")[0]
    start = int(first.prefix.split("\n")[0].split()[-1])
    assert start % STEP_LINES == 0 and start > 0
    assert sum(words(ln) for ln in first.prefix.split("\n")) <= 150
    small = window("a\nb", "c\nd", budget_tokens=1000, count_line=words)
    assert small == window("a\nb", "c\nd", 1000, words) and small.prefix == "a\nb"


def test_context_query_ignores_the_line_being_typed() -> None:
    before = "import os\nfrom pkg.registry import register_shape\n\ndef f():\n    x = 1\n    reg"
    after = before + "ister_sh"
    assert context_query(before) == context_query(after)
    assert context_query(before).startswith("pkg registry register_shape\n")


def test_select_snippets_cuts_to_the_head_instead_of_dropping() -> None:
    big = ContextSnippet(
        "a.py", 1, "def big(x):\n" + "\n".join(f"    y{i} = x" for i in range(200))
    )
    small = ContextSnippet("b.py", 3, "def small():\n    return 1")
    chosen = select_snippets([big, small], budget_tokens=120, count_tokens=words, language="python")
    assert chosen[0].text.startswith("def big(x):") and len(chosen[0].text) < len(big.text)
    assert select_snippets([big], 20, words, "python") == []  # too little room: none


def test_prompts() -> None:
    snippet = ContextSnippet("geo/reg.py", 4, "def register(name):\n    pass", "register")
    plain = build_prompt(
        prefix="x = ", suffix="", path="app.py", language="python", snippets=[snippet]
    )
    assert plain.text.startswith("# Related code from this repository:\n# geo/reg.py:4 (register)")
    assert plain.text.endswith("# app.py\nx = ") and not plain.uses_fim
    fim = build_prompt(
        prefix="x = ", suffix="\nprint(x)", path="app.py", language="python", fim_template="qwen"
    )
    assert fim.uses_fim and fim.text.startswith("<|fim_prefix|># app.py\nx = <|fim_suffix|>")
    assert fim.text.endswith("<|fim_middle|>") and "<|endoftext|>" in fim.stop
    ts = build_prompt(prefix="let x = ", suffix="", path="a.ts", language="typescript")
    assert ts.text.startswith("// a.ts\n")
    assert detect_fim_template({"<fim_prefix>": 1}) == "starcoder"
    assert detect_fim_template({"hello": 1}) is None


def test_a_bad_option_is_dropped_alone() -> None:
    from mochi.server.lsp.features.lifecycle import without_key

    options = {"completion": {"maxTokens": -3, "multiline": True}, "model": {"name": "x"}}
    assert without_key(options, "completion.max_tokens") == {
        "completion": {"multiline": True},
        "model": {"name": "x"},
    }
    assert without_key(options, "model") == {"completion": options["completion"]}
