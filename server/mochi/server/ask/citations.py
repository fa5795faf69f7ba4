"""Citations in an answer: read them, keep those that point inside a source, and
attribute every claim that has none.

The LLM is asked to cite as `[path:line]`. These forms are read: `[path:line]`,
`[path:line-end]`, `` [`path:line`] ``, `[1]`, `[1, 3]`, `[Source 2]` (several in one
bracket, split at `,` or `;`), and a bare `path:line` of a source's file. A citation is
kept ("cited") when it points inside a source: its path is a source's path (or one ends
with the other, e.g. an absolute path) and its line lies in that source's lines; `[n]`
names source n and points at its line that shares most terms with the claim. A bracketed
citation that points anywhere else is taken out of the text and listed in `rejected`:
nothing is dropped silently.

Claims are the answer's sentences (split after `.`, `!` or `?` before a space, and at line
ends) and its fenced code blocks; a bracket of citations that opens a sentence belongs to
the one before. Headings and pieces without a content word are not claims, unless they
cite (rightly or not). A claim without a kept citation is "attributed": mochi appends
the source that shares most terms with it (ties: the better ranked; none shared:
source 1, the best ranked), written `[path:line (attributed)]`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from mochi.server.ask.sources import Source, terms

How = Literal["cited", "attributed"]
ATTRIBUTED = "attributed"
_BRACKET = re.compile(r"(?<![\w)])\[([^\[\]\n]{1,300})\](?!\()")
_NUMBER = re.compile(r"(?:sources?\s*:?\s*|#)?(\d{1,3})", re.IGNORECASE)
_PATH_LINE = re.compile(
    r"`?(?P<path>[^\s`:\[\]()]+?)`?\s*:\s*L?(?P<line>\d+)(?:\s*[-–—]\s*L?(?P<end>\d+))?`?"
    r"(?:\s*\(attributed\))?",
    re.IGNORECASE,
)
_BARE = re.compile(
    r"(?<![\w/.\-\[`])`?(?P<path>[\w.\-/]+\.\w+)`?:(?P<line>\d+)(?:[-–](?P<end>\d+))?`?"
)
_OPENING_BRACKET = re.compile(r"\s*\[([^\[\]\n]{1,300})\]")
_SENTENCE_END = re.compile(r"(?<=[^\s\d][.!?])(\s+)")
_ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "vs.", "cf.")
_TRAILING_PUNCTUATION = re.compile(r"[.!?:;]+$")


@dataclass(frozen=True, slots=True)
class Citation:
    path: str
    line: int  # 1-based
    end_line: int  # = line for a single line
    how: How
    source: int  # the number of the source it points into
    claim: int  # the index of the claim it supports

    @property
    def label(self) -> str:
        span = f"{self.line}" if self.end_line == self.line else f"{self.line}-{self.end_line}"
        return f"{self.path}:{span}"


@dataclass(frozen=True, slots=True)
class Claim:
    text: str  # as the final answer shows it, citations included
    citations: tuple[Citation, ...]


@dataclass(frozen=True, slots=True)
class CitedAnswer:
    text: str  # the answer with every citation written `[path:line]`
    claims: tuple[Claim, ...]
    citations: tuple[Citation, ...]
    rejected: tuple[str, ...]  # citations that pointed outside the sources, as written


@dataclass(slots=True)
class _Segment:
    text: str
    sep: str = ""  # the whitespace after it in the answer
    code: bool = False


@dataclass(slots=True)
class _Found:
    """What one segment cites: (source, line, end) triples, and the rejected ones."""

    spans: list[tuple[Source, int, int]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


def best_line(source: Source, wanted: set[str]) -> int:
    """The source's line that shares most terms with `wanted` (the first on a tie; the
    first line when none shares any)."""
    best, best_score = source.start_line, 0
    for number, text in source.numbered_lines():
        score = len(wanted & terms(text))
        if score > best_score:
            best, best_score = number, score
    return best


def resolve(path: str, line: int, sources: Sequence[Source]) -> Source | None:
    """The source whose file is `path` and whose lines hold `line`; None when none does."""
    cited = path.strip("`'\"").removeprefix("./")
    for source in sources:
        same = (
            source.path == cited
            or cited.endswith("/" + source.path)
            or source.path.endswith("/" + cited)
        )
        if same and source.start_line <= line <= source.end_line:
            return source
    return None


def _item(
    item: str, claim_terms: set[str], sources: Sequence[Source]
) -> tuple[Source, int, int] | Literal[False] | None:
    """One bracket item: a span, None (a citation that points nowhere), or False (not a
    citation at all)."""
    if number := _NUMBER.fullmatch(item):
        n = int(number.group(1))
        if not 1 <= n <= len(sources):
            return None
        source = sources[n - 1]
        at = best_line(source, claim_terms)
        return source, at, at
    if path_line := _PATH_LINE.fullmatch(item):
        line = int(path_line.group("line"))
        found = resolve(path_line.group("path"), line, sources)
        if found is None:
            return None
        end = int(path_line.group("end") or line)
        return found, line, min(max(end, line), found.end_line)
    return False


def _format(spans: Sequence[tuple[Source, int, int]]) -> str:
    return " ".join(f"[{s.path}:{a}]" if a == b else f"[{s.path}:{a}-{b}]" for s, a, b in spans)


def _normalise(text: str, claim_terms: set[str], sources: Sequence[Source]) -> tuple[str, _Found]:
    """The text with its citations written `[path:line]` (rejected ones taken out)."""
    found = _Found()

    def bracket(match: re.Match[str]) -> str:
        items = [i.strip() for i in re.split(r"[,;]", match.group(1))]
        read = [_item(i, claim_terms, sources) for i in items]
        if any(r is False for r in read):
            return match.group(0)  # not a citation: [a, b] in prose, a link, ...
        spans = [r for r in read if r]
        found.spans.extend(spans)
        found.rejected.extend(i for i, r in zip(items, read, strict=True) if r is None)
        return _format(spans)

    def bare(match: re.Match[str]) -> str:
        line = int(match.group("line"))
        source = resolve(match.group("path"), line, sources)
        if source is None:
            return match.group(0)  # a file name in prose, not one of the sources
        end = min(max(int(match.group("end") or line), line), source.end_line)
        found.spans.append((source, line, end))
        return _format([(source, line, end)])

    text = _BARE.sub(bare, _BRACKET.sub(bracket, text))
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return text.strip(" \t"), found


def _sentences(line: str) -> list[_Segment]:
    parts = [*_SENTENCE_END.split(line), ""]  # sentence, space, sentence, ..., sentence, ""
    segments = [_Segment(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
    merged: list[_Segment] = []
    for segment in segments:
        if merged and merged[-1].text.lower().endswith(_ABBREVIATIONS):
            merged[-1].text += merged[-1].sep + segment.text
            merged[-1].sep = segment.sep
        else:
            merged.append(segment)
    return merged


def split_segments(answer: str) -> list[_Segment]:
    """The answer cut into sentences and fenced code blocks, with the whitespace between
    them, so that joining `text + sep` gives the answer back."""
    segments: list[_Segment] = []
    fence: list[str] | None = None
    for raw in answer.splitlines(keepends=True):
        line, newline = raw.rstrip("\r\n"), raw[len(raw.rstrip("\r\n")) :]
        if fence is not None:
            fence.append(raw)
            if line.lstrip().startswith("```"):
                segments.append(_Segment("".join(fence).rstrip("\r\n"), newline, code=True))
                fence = None
            continue
        if line.lstrip().startswith("```"):
            fence = [raw]
            continue
        pieces = _sentences(line)
        pieces[-1].sep += newline
        segments.extend(pieces)
    if fence is not None:  # an unclosed block runs to the end
        segments.append(_Segment("".join(fence).rstrip("\r\n"), "\n", code=True))
    return segments


def _leading_citations(segment: _Segment) -> str:
    """The brackets that open a sentence, when they are citations (they belong to the
    sentence before); '' when it opens otherwise."""
    end = 0
    while match := _OPENING_BRACKET.match(segment.text, end):
        items = [i.strip() for i in re.split(r"[,;]", match.group(1))]
        if not all(_NUMBER.fullmatch(i) or _PATH_LINE.fullmatch(i) for i in items):
            break
        end = match.end()
    return segment.text[:end]


def _attach_leading_citations(segments: list[_Segment]) -> None:
    previous: _Segment | None = None
    for segment in segments:
        lead = _leading_citations(segment) if not segment.code else ""
        if lead and previous is not None and not previous.code:
            previous.text = f"{previous.text.rstrip()} {lead.strip()}"
            segment.text = segment.text[len(lead) :].lstrip()
            if not segment.text:  # only citations: its line break now ends the one before
                previous.sep, segment.sep = segment.sep, ""
        if segment.text.strip():
            previous = segment


def _is_claim(text: str) -> bool:
    return bool(terms(text)) and not text.lstrip().startswith("#")


def _with_attribution(segment: _Segment, label: str) -> str:
    mark = f"[{label} ({ATTRIBUTED})]"
    if segment.code:
        return f"{segment.text}\n{mark}"
    text = segment.text.rstrip()
    tail = _TRAILING_PUNCTUATION.search(text)
    if tail is None:
        return f"{text} {mark}"
    return f"{text[: tail.start()].rstrip()} {mark}{tail.group(0)}"


def attribute(claim: str, sources: Sequence[Source]) -> tuple[Source, int]:
    """The source (and line in it) that shares most terms with `claim`."""
    wanted = terms(claim)
    best = max(sources, key=lambda s: (len(wanted & terms(s.text)), -s.number))
    return best, best_line(best, wanted)


def cite(answer: str, sources: Sequence[Source]) -> CitedAnswer:
    """The answer with its citations checked and every claim cited (see above)."""
    if not sources:
        raise ValueError("cite() needs at least one source")
    segments = split_segments(answer)
    _attach_leading_citations(segments)
    claims: list[Claim] = []
    rejected: list[str] = []
    for segment in segments:
        if not segment.text.strip():
            continue
        found = _Found()
        if not segment.code:
            segment.text, found = _normalise(segment.text, terms(segment.text), sources)
            rejected.extend(found.rejected)
        spans = list(dict.fromkeys(found.spans))
        index = len(claims)
        if spans:
            cited = tuple(Citation(s.path, a, b, "cited", s.number, index) for s, a, b in spans)
            claims.append(Claim(segment.text, cited))
        elif segment.code or found.rejected or _is_claim(segment.text):
            source, line = attribute(segment.text, sources)
            made = Citation(source.path, line, line, "attributed", source.number, index)
            segment.text = _with_attribution(segment, made.label)
            claims.append(Claim(segment.text, (made,)))
    text = "".join(s.text + s.sep for s in segments).strip()
    return CitedAnswer(
        text=text,
        claims=tuple(claims),
        citations=tuple(c for claim in claims for c in claim.citations),
        rejected=tuple(rejected),
    )
