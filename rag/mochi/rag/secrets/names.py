"""Values given to secret-like names: `DB_PASSWORD = "…"`, `"aws_secret_access_key": "…"`,
`password: …` in YAML, `spring.datasource.password=…`, `npmAuthToken: …`, `<password>…`.

A name is secret-like by its last word, in any case and joined by `_`, `-`, `.` or camel
case: password, passwd, pwd, passphrase, secret (strong: any real literal counts) or key,
token, auth, credentials (weak: the value must look random). A value counts only when it
is a literal: quoted anywhere; unquoted only outside program code (config files, prose),
where it is not a reference, a path or a placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from mochi.rag.secrets.findings import Finding
from mochi.rag.secrets.values import is_reference, is_wordy, looks_like_password, looks_random

Mode = Literal["code", "config", "prose"]
Strength = Literal["strong", "weak"]

RULE = "secret-assignment"
_HIT = re.compile(r"pass|pwd|secret|token|key|auth|cred")  # matched on the lower-cased text
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.$")
_SPLIT = re.compile(r"[-_.$]+")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_ASSIGN = re.compile(
    r"""(?P<close>["'`]?\]?)
    (?:(?:[ \t]*:[ \t]*[A-Za-z_][\w\[\]., |]{0,40}?|[ \t]+(?:string|String|str|&str))
       (?=[ \t]*=[^=>]))?                                  # a type: `x: str = `, `x string =`
    [ \t]*(?P<op>:=|=>|\?=|=(?!=)|:(?!:)|,)[ \t]*
    (?:[bBrRuUfF]{0,2}(?P<q>["'`])(?P<quoted>(?:\\.|[^\\\n]){0,2000}?)(?P=q)
      |(?P<bare>[^\s"'`,]{1,400}))""",  # bounded: a line of 100k names stays linear
    re.X,
)
_BARE_RUN = re.compile(r"[^\s\"'`,]*")
_XML = re.compile(r"<([\w.:-]{2,60})>([^<\n]{4,300})</\1>")
_BARE_END = re.compile(r"[;&]\w+=|[;,)]+$")  # `Password=x;Server=y`, `?token=x&a=b`

_STRONG = ("password", "passwd", "passphrase", "secret")
_KEY_KINDS = frozenset(
    {
        "api", "secret", "access", "private", "signing", "master", "encryption", "auth",
        "account", "client", "app", "session", "license", "webhook",
    }
)  # fmt: skip
_NOT_SECRET_QUALIFIERS = frozenset(
    {
        "public", "pub", "publishable", "sort", "cache", "primary", "foreign", "partition",
        "group", "index", "dict", "map", "lookup", "row", "column", "range", "shortcut", "hot",
        "short", "i18n", "translation", "message", "msg", "registry", "object", "file",
        "idempotency", "unique", "composite", "max", "num", "eos", "bos", "pad", "unk", "sep",
        "cls", "mask", "special", "start", "end", "stop", "next", "page", "continuation",
        "cancel", "cancellation", "lexer", "parse", "input", "output", "prompt", "first",
        "last", "csrf",
    }
)  # fmt: skip


def name_strength(name: str) -> Strength | None:
    """How secret a value of this name is, or None when the name holds no secret."""
    words = [w.lower() for part in _SPLIT.split(name) for w in _WORDS.findall(part)]
    while words and words[-1].isdigit():
        words.pop()
    if not words or any(w in _NOT_SECRET_QUALIFIERS for w in words[:-1]):
        return None
    last, before = words[-1], words[:-1]
    if last.endswith(_STRONG) or last.endswith("pwd") or (before and last in ("pass", "pw")):
        return "strong"
    if before[-2:] == ["private", "key"] and last == "id":
        return "weak"  # a GCP service account's private_key_id
    keyish = (
        last.endswith("token")
        or last in ("auth", "credential", "credentials", "creds")
        or (last == "key" and bool(before))
        or (last.endswith("key") and last[:-3] in _KEY_KINDS)
    )
    if not keyish:
        return None
    secret_word = any(w in ("secret", "password", "passwd", "private") for w in before)
    return "strong" if secret_word else "weak"


def is_secret_value(value: str, strength: Strength, *, prose: bool = False) -> bool:
    if strength == "strong":
        return looks_like_password(value, prose=prose)
    return looks_random(value)


def keyword_lines(lower: str) -> list[tuple[int, int]]:
    """(start, end) of each line that holds a word of a secret-like name (`lower` is the
    lower-cased text); the rules of names and of prose look at these lines only."""
    lines: list[tuple[int, int]] = []
    hit = _HIT.search(lower)
    while hit is not None:
        start = lower.rfind("\n", 0, hit.start()) + 1
        end = lower.find("\n", hit.end())
        end = len(lower) if end < 0 else end
        lines.append((start, end))
        hit = _HIT.search(lower, end + 1)
    return lines


def assignment_findings(
    text: str, lower: str, lines: list[tuple[int, int]], mode: Mode
) -> Iterator[Finding]:
    for line_start, line_end in lines:
        seen = line_start
        for hit in _HIT.finditer(lower, line_start, line_end):
            if hit.start() < seen:
                continue
            start, end = _name_span(text, hit.start(), hit.end())
            seen = end
            strength = name_strength(text[start:end])
            if strength is None:
                continue
            found, seen = _value_after(text, end, line_end, strength, mode)
            if found is not None:
                yield found
        if "</" in text[line_start:line_end]:
            yield from _xml_findings(text, line_start, line_end)


def _name_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and text[start - 1] in _NAME_CHARS:
        start -= 1
    while end < len(text) and text[end] in _NAME_CHARS:
        end += 1
    return start, end


def _value_after(
    text: str, at: int, line_end: int, strength: Strength, mode: Mode
) -> tuple[Finding | None, int]:
    """The finding in the value after the name ending at `at`, if any, and where the
    value ends (names inside it are not looked at again)."""
    match = _ASSIGN.match(text, at, line_end)
    if match is None:
        return None, at
    if match.group("q") is not None:
        value, start = match.group("quoted"), match.start("quoted")
        # `("DB_PASSWORD", "…")`: a name and a value side by side, or a tuple of words
        listed = match.group("op") == ","
        if listed and (
            not match.group("close")
            or is_wordy(value)
            or not is_secret_value(value, strength, prose=True)
        ):
            return None, at
        secret = is_secret_value(value, strength)
        return (Finding(start, start + len(value), RULE) if secret else None), match.end()
    if mode == "code" or match.group("op") == ",":
        return None, at  # in code an unquoted value is an expression
    value, start = match.group("bare"), match.start("bare")
    if len(value) == 400:  # longer than the pattern takes: the whole run is the value
        value = _BARE_RUN.match(text, start, line_end).group()  # type: ignore[union-attr]
    cut = _BARE_END.search(value)
    value = value[: cut.start()] if cut is not None else value
    stop = start + len(value)
    if not value or text[stop : stop + 1] == "(" or is_reference(value):
        return None, stop
    if not is_secret_value(value, strength, prose=mode == "prose"):
        return None, stop
    return Finding(start, stop, RULE), stop


def _xml_findings(text: str, start: int, end: int) -> Iterator[Finding]:
    for match in _XML.finditer(text, start, end):
        strength = name_strength(match.group(1).rsplit(":", 1)[-1])
        value = match.group(2).strip()
        if strength is not None and is_secret_value(value, strength):
            yield Finding(match.start(2), match.end(2), RULE)
