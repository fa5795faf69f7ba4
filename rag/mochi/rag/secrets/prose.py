"""Passwords and tokens written in sentences: "the staging password is `…`", "Rotate
the DB password to …", "log in with password '…'" — in Markdown, commit messages and
comments. The value must look like a password (a digit or a symbol), so "the token is
written to disk" stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mochi.rag.secrets.findings import Finding
from mochi.rag.secrets.values import is_reference, looks_like_password

RULE = "secret-in-prose"
_NAME = (
    r"\b(?:pass(?:word|wd|phrase)|pwd|secret|(?:api|access|auth|bearer|deploy)[ _-]?token|token"
    r"|api[ _-]?key)s?\b[*_`]*"
)
_SAID = re.compile(
    rf"(?i){_NAME}(?:[ \t]+[\w.@/-]{{1,60}}){{0,6}}?[ \t]*"
    r"(?:\b(?:is|was|now|to|becomes)\b|[:=]|->|\u2192)[ \t]*(?:\b(?:is|now|to)\b[ \t]*)?:?[ \t]*"
    r"[`'\"*]{0,3}(?P<value>[^\s`'\"*<>()\[\]{},;]{1,200})"
)
_QUOTED = re.compile(rf"(?i){_NAME}[ \t]*[`'\"](?P<value>[^\s`'\"]{{6,200}})[`'\"]")
_TRAILING = ".,:;"
_WORDS = ("pass", "pwd", "secret", "token", "key")


def prose_findings(text: str, lower: str, lines: list[tuple[int, int]]) -> Iterator[Finding]:
    """Findings on `lines` ((start, end) of the lines that hold a secret-like word)."""
    for line_start, line_end in lines:
        if not any(word in lower[line_start:line_end] for word in _WORDS):
            continue
        for pattern in (_SAID, _QUOTED):
            for match in pattern.finditer(text, line_start, line_end):
                value = match.group("value").rstrip(_TRAILING)
                start = match.start("value")
                after = text[start + len(value) : start + len(value) + 1]
                if after == "(" or is_reference(value):
                    continue
                if looks_like_password(value, prose=True):
                    yield Finding(start, start + len(value), RULE)
