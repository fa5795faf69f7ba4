"""Private keys as whole blocks: PEM, OpenSSH, PGP and PuTTY keys, wherever they sit (a
file, a string literal, a YAML block, a JSON value with `\\n` escapes, a diff), and key
bodies without their header (a diff that rotates a key changes only its body lines).

A block runs from its BEGIN line to its END line; one cut short (a truncated diff) runs
to the last line that still looks like key material.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from mochi.rag.secrets.findings import Finding

RULE = "private-key"
_MAX_BLOCK = 20_000  # characters between BEGIN and END
_KIND = r"[ A-Z0-9_-]{0,40}?PRIVATE KEY(?: BLOCK)?"
_BEGIN = re.compile(rf"-{{4,5}}[ \t]?BEGIN{_KIND}[ \t]?-{{4,5}}")
_END = re.compile(rf"-{{4,5}}[ \t]?END{_KIND}[ \t]?-{{4,5}}")
# One line of a key body, with what may surround it: a diff mark, indentation, quotes,
# a `\n` escape, a concatenation or continuation mark.
_LINE_AROUND = r"""[ \t]*[+\- ]?[ \t]*["'`]?({body})(?:\\r)?(?:\\n)?["'`]?[ \t]*[,+\\]?[ \t]*"""
_BODY_LINE = re.compile(_LINE_AROUND.format(body=r"[A-Za-z0-9+/]{4,}={0,2}"))
_HEADER_LINE = re.compile(r"""[ \t]*[+\- ]?[ \t]*["']?(?:Proc-Type|DEK-Info|Comment|Version):.*""")
_RUN_LINE = re.compile(_LINE_AROUND.format(body=r"[A-Za-z0-9+/]{40,76}={0,2}"))
_MIN_RUN = 3  # lines of one width
_TAIL = 200  # a run's last line and the shorter line that may end the body
_PUTTY = re.compile(r"Private-Lines:[ \t]*\d+")
_PUTTY_MAC = re.compile(r"Private-MAC:[ \t]*[0-9a-fA-F]+")


def key_findings(text: str) -> Iterator[Finding]:
    if "PRIVATE KEY" in text:
        yield from _pem_blocks(text)
    if "Private-Lines:" in text:
        yield from _putty_blocks(text)
    yield from _body_runs(text)


def _pem_blocks(text: str) -> Iterator[Finding]:
    done = 0
    end: re.Match[str] | None = None
    searched = False
    for begin in _BEGIN.finditer(text):
        if begin.start() < done:
            continue
        if not searched or (end is not None and end.start() < begin.end()):
            end, searched = _END.search(text, begin.end()), True  # once per END, not per BEGIN
        if end is not None and end.start() - begin.end() <= _MAX_BLOCK:
            done = end.end()
        else:
            done = _body_end(text, begin.end())
        yield Finding(begin.start(), done, RULE)


def _putty_blocks(text: str) -> Iterator[Finding]:
    for start in _PUTTY.finditer(text):
        mac = _PUTTY_MAC.search(text, start.end(), start.end() + _MAX_BLOCK)
        stop = mac.end() if mac is not None else _body_end(text, start.end())
        yield Finding(start.start(), stop, RULE)


def _body_end(text: str, at: int, limit: int = _MAX_BLOCK) -> int:
    """The end of the key material that starts at `at`: the rest of that line (a JSON
    value holds the whole key on it) and the lines after it that look like key lines,
    up to `limit` characters."""
    line_end = text.find("\n", at)
    if line_end < 0:
        return len(text)
    stop = line_end
    while stop < len(text):
        nxt = text.find("\n", stop + 1)
        nxt = len(text) if nxt < 0 else nxt
        if nxt - at > limit:
            break
        line = text[stop + 1 : nxt]
        if not (_BODY_LINE.fullmatch(line) or _HEADER_LINE.fullmatch(line)):
            break
        stop = nxt
    return stop


def _body_runs(text: str) -> Iterator[Finding]:
    """Runs of lines of one width made of base64 with both cases: a key body whatever
    surrounds it. Lines inside a certificate or public key block are left alone."""
    run: list[re.Match[str]] = []
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        match = _RUN_LINE.fullmatch(text, start, end) if _may_be_key_line(line) else None
        body = match.group(1) if match is not None else ""
        if match is not None and not body.islower() and not body.isupper():
            width = match.end(1) - start  # where the body ends: a diff mark may come first
            last = run[-1] if run else None  # each run line is matched whole, from its start
            if last and width == last.end(1) - last.start() and start == last.end() + 1:
                run.append(match)
            else:
                yield from _run_finding(text, run)
                run = [match]
        elif run:
            yield from _run_finding(text, run)
            run = []
        start = end + 1
    yield from _run_finding(text, run)


def _may_be_key_line(line: str) -> bool:
    core = line.strip(" \t+-\"'`,\\")
    return len(core) >= 40 and " " not in core


def _run_finding(text: str, run: list[re.Match[str]]) -> Iterator[Finding]:
    if len(run) < _MIN_RUN or _in_public_block(text, run[0].start()):
        return
    yield Finding(run[0].start(), _body_end(text, run[-1].start(), limit=_TAIL), RULE)


def _in_public_block(text: str, at: int) -> bool:
    begin = text.rfind("-----BEGIN", max(0, at - 400), at)
    if begin < 0:
        return False
    line_end = text.find("\n", begin, at)
    header = text[begin : line_end if line_end >= 0 else at]
    return "PRIVATE" not in header and "-----END" not in text[begin:at]
