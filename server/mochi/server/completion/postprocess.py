"""Turn raw model output into a suggestion: stop at the natural end, drop overlap."""

from __future__ import annotations

from mochi.rag.prompting.stops import drop_opening_newlines

_OPENERS = {"(": ")", "[": "]", "{": "}"}


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def _block(text: str, indent: str) -> str:
    """Lines up to the first non-blank line that dedents below the cursor's indent."""
    lines = text.split("\n")
    kept = [lines[0]]
    for line in lines[1:]:
        if line.strip() and len(line) - len(line.lstrip()) < len(indent):
            break
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept)


def _suffix_overlap(completion: str, suffix_line: str) -> str:
    """Drop the end of `completion` that the text after the cursor already holds.

    Typical case: the editor auto-closed a bracket, `foo(|)`, and the model
    writes `x)`; the suggestion must be `x`.
    """
    rest = suffix_line.strip()
    if not rest:
        return completion
    stripped = completion.rstrip()
    for size in range(min(len(rest), len(stripped)), 0, -1):
        if stripped.endswith(rest[:size]) and rest[:size].strip():
            return stripped[: len(stripped) - size]
    return completion


def clean_completion(raw: str, *, prefix: str, suffix: str, multiline: bool) -> str | None:
    """The suggestion to show, or None when there is nothing worth showing."""
    current_line = prefix.rsplit("\n", 1)[-1]
    indent = current_line[: len(current_line) - len(current_line.lstrip())]
    text = drop_opening_newlines(raw.replace("\r\n", "\n"), prefix)
    if multiline and not current_line.strip():
        # At a line start the block's indent is that of the suggestion's first line.
        first = text.split("\n", 1)[0]
        indent = max(indent, first[: len(first) - len(first.lstrip())], key=len)
    text = _block(text, indent) if multiline else _first_line(text)
    suffix_line = suffix.split("\n", 1)[0]
    text = _suffix_overlap(text, suffix_line).rstrip()
    if not text.strip():
        return None
    # A suggestion that only repeats what follows the cursor adds nothing.
    if suffix.lstrip().startswith(text.strip()):
        return None
    return text
