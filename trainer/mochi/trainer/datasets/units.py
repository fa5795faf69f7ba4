"""Code units of a file (functions, methods, classes from the rag chunker) and, inside
each, the blocks of whole lines that tree-sitter says are statements: the middles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mochi.rag.chunking import DefaultChunker, GrammarCache, GrammarUnavailable
from mochi.rag.chunking.unit_names import body_of, first_line, last_line
from mochi.rag.chunking.unit_specs import UnitSpec, unit_spec
from mochi.rag.types import DocKind, Document
from mochi.trainer.datasets.repository import SourceFile

if TYPE_CHECKING:
    from tree_sitter import Node

UNIT_KINDS = frozenset({"function", "method", "class"})
_WORD = re.compile(r"[^\W_]")


@dataclass(frozen=True, slots=True)
class Block:
    """Lines `first`..`last` (1-based, inclusive)."""

    first: int
    last: int


@dataclass(frozen=True, slots=True)
class CodeUnit:
    """A function, method or class chunk and what the samples need of it."""

    path: str
    symbol: str
    kind: str
    first: int  # the chunk's lines (leading comments included)
    last: int
    text: str  # the chunk's text
    middles: tuple[Block, ...]  # statement blocks inside its body, by line
    doc_end: int  # doc-to-code: last line of signature + docstring (0 = undocumented)
    body_last: int  # last line of the documented body (doc-to-code completion)

    @property
    def key(self) -> str:
        """Identity within a tree: samples of one unit stay on one side of a split."""
        return f"{self.path}:{self.symbol}:{self.first}"


@dataclass(frozen=True, slots=True)
class _Definition:
    first: int
    body_first: int
    body_last: int
    doc_end: int


class UnitFinder:
    """Units and their middles; parsers are shared with the chunker and kept."""

    def __init__(self, max_middle_lines: int, grammars: GrammarCache | None = None) -> None:
        self._grammars = grammars if grammars is not None else GrammarCache()
        self._chunker = DefaultChunker(grammars=self._grammars)
        self._max_middle = max_middle_lines

    def units(self, file: SourceFile) -> list[CodeUnit]:
        spec = unit_spec(file.language)
        if spec is None:
            return []
        try:
            parser = self._grammars.parser(file.language)
        except ImportError:
            return []
        if parser is None:
            return []
        doc = Document(file.path, file.text, DocKind.CODE, file.language, "")
        try:
            chunks = [c for c in self._chunker.chunk(doc) if c.kind in UNIT_KINDS]
        except GrammarUnavailable:
            return []
        source = file.text.encode("utf-8", errors="surrogatepass")
        root = parser.parse(source).root_node
        blocks, definitions = _scan(root, source, spec, self._max_middle)
        units: list[CodeUnit] = []
        for chunk in chunks:
            inside = [d for d in definitions if chunk.start_line <= d.first <= chunk.end_line]
            if not inside:
                continue
            outer = min(inside, key=lambda d: d.first)
            low = max(outer.body_first, chunk.start_line)
            high = min(outer.body_last, chunk.end_line)
            middles = tuple(b for b in blocks if low <= b.first and b.last <= high)
            documented = outer.doc_end > 0 and outer.doc_end < outer.body_last
            units.append(
                CodeUnit(
                    path=file.path,
                    symbol=chunk.symbol,
                    kind=chunk.kind,
                    first=chunk.start_line,
                    last=chunk.end_line,
                    text=chunk.text,
                    middles=middles,
                    doc_end=outer.doc_end if documented else 0,
                    body_last=outer.body_last,
                )
            )
        return units


def _scan(
    root: Node, source: bytes, spec: UnitSpec, max_lines: int
) -> tuple[list[Block], list[_Definition]]:
    """Statement-like blocks (whole lines, at most `max_lines`) and unit definitions."""
    blocks: set[Block] = set()
    definitions: list[_Definition] = []
    units = spec.functions | spec.classes
    stack = [root]
    while stack:
        node = stack.pop()
        stack.extend(reversed(node.named_children))
        if node.type in units:
            found = _definition(node, source, spec)
            if found is not None:
                definitions.append(found)
        first, last = first_line(node), last_line(node)
        if (
            node is not root
            and last - first < max_lines
            and node.type not in spec.attached
            and _aligned(node, source)
            and _WORD.search(node.text.decode("utf-8", "replace") if node.text else "")
        ):
            blocks.add(Block(first, last))
    return sorted(blocks, key=lambda b: (b.first, b.last)), definitions


def _aligned(node: Node, source: bytes) -> bool:
    """Whether `node` owns whole lines: only blanks before it and after it on its lines."""
    line_start = node.start_byte - node.start_point.column
    if source[line_start : node.start_byte].strip():
        return False
    if node.end_point.column == 0:
        return True
    line_end = source.find(b"\n", node.end_byte)
    rest = source[node.end_byte : line_end if line_end >= 0 else len(source)]
    return not rest.strip()


def _definition(node: Node, source: bytes, spec: UnitSpec) -> _Definition | None:
    body = body_of(node)
    if body is None:
        return None
    body_first = first_line(body)
    if not _starts_line(body, source):  # ``{`` on the header line
        body_first += 1
    body_last = last_line(body)
    if body_first > body_last:
        return None
    doc_end = _doc_end(node, body, body_first, spec)
    return _Definition(first_line(node), body_first, body_last, doc_end)


def _starts_line(node: Node, source: bytes) -> bool:
    line_start = node.start_byte - node.start_point.column
    return not source[line_start : node.start_byte].strip()


def _doc_end(node: Node, body: Node, body_first: int, spec: UnitSpec) -> int:
    """Last line of the signature and its documentation, 0 when it has none.

    Python: a docstring (the body's first statement, a string). Elsewhere: a comment
    right above the unit (or above its export/decorator wrapper).
    """
    if node.type == "function_definition" and body.type == "block":
        first = body.named_children[0] if body.named_children else None
        if (
            first is not None
            and first.type == "expression_statement"
            and first.named_children
            and first.named_children[0].type == "string"
        ):
            return last_line(first)
        return 0
    if node.type not in spec.functions:
        return 0
    outer = node.parent if node.parent is not None and node.parent.type in spec.wrappers else node
    above = outer.prev_named_sibling
    if (
        above is not None
        and above.type in spec.attached
        and last_line(above) == first_line(outer) - 1
    ):
        return body_first - 1
    return 0
