"""Where a completion ends (shared by the server's back ends and `mochi eval`)."""

from __future__ import annotations

from mochi.rag.prompting.stops import at_line_start, drop_opening_newlines, find_stop


def test_find_stop_finds_the_earliest() -> None:
    assert find_stop("a + b\n\nc", ("\n\n", "\n")) == 5
    assert find_stop("abc", ("x", "")) is None


def test_leading_newlines_do_not_stop_a_completion_when_asked() -> None:
    assert find_stop("\n\n    return x\n", ("\n",)) == 0
    assert find_stop("\n\n    return x\n", ("\n",), skip_leading_newlines=True) == 14
    assert find_stop("\n\n", ("\n",), skip_leading_newlines=True) is None
    assert find_stop("\nx<|endoftext|>", ("<|endoftext|>",), skip_leading_newlines=True) == 2


def test_at_line_start() -> None:
    assert at_line_start("def f():\n")
    assert at_line_start("def f():\n    ")
    assert not at_line_start("def f():\n    return")


def test_drop_opening_newlines_keeps_the_indent_once() -> None:
    assert drop_opening_newlines("\n    return x", "def f():\n    ") == "return x"
    assert drop_opening_newlines("\n    return x", "def f():\n") == "    return x"
    assert drop_opening_newlines("return x", "def f():\n    ") == "return x"
    assert drop_opening_newlines("\nmore", "x = 1") == "\nmore"  # mid-line: untouched
