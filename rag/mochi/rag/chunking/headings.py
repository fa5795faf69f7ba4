"""Section headings of Markdown, reStructuredText and AsciiDoc text, found line by line."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mochi.rag.chunking.lines import LineIndex

_MD_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_MD_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_MD_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_MD_NOT_PARAGRAPH = re.compile(r"^( {4}|\t| {0,3}([-*+>|<]|\d+[.)])([ \t]|$))")
_RST_ADORNMENT = re.compile(r"^([!-/:-@\[-`{-~])\1+[ \t]*$")
_ADOC_TITLE = re.compile(r"^(={1,6}|#{1,6})[ \t]+(\S.*?)(?:[ \t]+=+)?[ \t]*$")
_ADOC_DELIMITER = re.compile(r"^(-{4,}|\.{4,}|\+{4,}|/{4,}|_{4,}|={4,}|\*{4,}|--|\|===)[ \t]*$")


@dataclass(frozen=True, slots=True)
class Heading:
    """A title: the line its construct starts on, its depth (1 = top) and its text."""

    line: int
    level: int
    title: str


def find_headings(language: str, lines: LineIndex) -> list[Heading]:
    """Headings in document order for "markdown", "rst" or "asciidoc" (else Markdown)."""
    if language == "rst":
        return rst_headings(lines)
    if language == "asciidoc":
        return asciidoc_headings(lines)
    return markdown_headings(lines)


def markdown_headings(lines: LineIndex) -> list[Heading]:
    """ATX (``# Title``) and setext (``Title`` over ``===`` / ``---``) headings,
    outside fenced code blocks and YAML front matter."""
    found: list[Heading] = []
    fence = ""
    paragraph = False  # the previous line could be a setext title
    n = _after_front_matter(lines)
    while n <= lines.count:
        line = lines.line(n)
        n += 1
        if fence:
            stripped = line.strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = ""
        elif match := _MD_FENCE.match(line):
            fence = match.group(1)
        elif match := _MD_ATX.match(line):
            found.append(Heading(n - 1, len(match.group(1)), (match.group(2) or "").strip()))
        elif paragraph and (match := _MD_SETEXT.match(line)):
            level = 1 if match.group(1)[0] == "=" else 2
            found.append(Heading(n - 2, level, lines.line(n - 2).strip()))
        else:
            paragraph = bool(line.strip()) and not (
                _MD_NOT_PARAGRAPH.match(line) or _MD_SETEXT.match(line)
            )
            continue
        paragraph = False
    return found


def _after_front_matter(lines: LineIndex) -> int:
    if lines.count < 2 or lines.line(1).rstrip() != "---":
        return 1
    for n in range(2, lines.count + 1):
        if lines.line(n).rstrip() in ("---", "..."):
            return n + 1
    return 1


def rst_headings(lines: LineIndex) -> list[Heading]:
    """Titles underlined (and optionally overlined) with one repeated punctuation
    character; levels follow the order in which the styles first appear."""
    found: list[Heading] = []
    styles: list[tuple[str, bool]] = []
    n = 1
    count = lines.count
    title_end = 0  # last line of the previous title's adornment
    while n < count:
        line = lines.line(n)
        over = _RST_ADORNMENT.match(line)
        title_line = n + 1 if over else n
        under_line = title_line + 1
        starts_block = n == 1 or n - 1 == title_end or lines.is_blank(n - 1)
        if under_line > count or not starts_block:
            n += 1
            continue
        title = lines.line(title_line)
        under = _RST_ADORNMENT.match(lines.line(under_line))
        stripped = title.strip()
        if (
            under is not None
            and stripped
            and not _RST_ADORNMENT.match(title)
            and (over is None or over.group(1) == under.group(1))
            and (over is not None or not title[0].isspace())
            and _long_enough(under.group(0).rstrip(), stripped)
        ):
            style = (under.group(1), over is not None)
            if style not in styles:
                styles.append(style)
            found.append(Heading(n, styles.index(style) + 1, stripped))
            title_end = under_line
            n = under_line + 1
            continue
        n += 1
    return found


def _long_enough(adornment: str, title: str) -> bool:
    return len(adornment) >= len(title) or len(adornment) >= 4


def asciidoc_headings(lines: LineIndex) -> list[Heading]:
    """``= Title`` / ``== Section`` (and ``#`` forms) outside delimited blocks.

    The document title (one ``=``) is level 1, ``==`` level 2, and so on.
    """
    found: list[Heading] = []
    block = ""
    for n in range(1, lines.count + 1):
        line = lines.line(n)
        delimiter = _ADOC_DELIMITER.match(line)
        if block:
            if delimiter and delimiter.group(1) == block:
                block = ""
        elif delimiter:
            block = delimiter.group(1)
        elif not line.startswith("//") and (match := _ADOC_TITLE.match(line)):
            found.append(Heading(n, len(match.group(1)), match.group(2).strip()))
    return found
