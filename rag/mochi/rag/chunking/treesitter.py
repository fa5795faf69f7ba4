"""Code chunked by syntax units: functions, methods, classes, and the code between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mochi.rag.chunking.grammars import GrammarCache, GrammarUnavailable
from mochi.rag.chunking.lines import LineIndex
from mochi.rag.chunking.trivia import join_trivia
from mochi.rag.chunking.unit_names import (
    assigned_function,
    body_of,
    first_line,
    header,
    last_line,
    receiver_name,
    unit_name,
)
from mochi.rag.chunking.unit_specs import UnitSpec, unit_spec
from mochi.rag.types import Chunk, Document

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tree_sitter import Node


class TreeSitterChunker:
    """One chunk per function, method and small class; big classes by member.

    Code outside any unit (imports, constants, script code) becomes "module"
    chunks, so every non-blank line lands in a chunk; units over `max_chars`
    are cut into consecutive line pieces that keep their kind and symbol.
    Raises GrammarUnavailable for a language without a grammar or unit table.
    """

    def __init__(self, max_chars: int = 1500, grammars: GrammarCache | None = None) -> None:
        if max_chars <= 0:
            raise ValueError(f"max_chars must be positive, got {max_chars}")
        self.max_chars = max_chars
        self._grammars = grammars if grammars is not None else GrammarCache()

    def chunk(self, doc: Document) -> list[Chunk]:
        spec = unit_spec(doc.language)
        parser = self._grammars.parser(doc.language) if spec is not None else None
        if spec is None or parser is None:
            raise GrammarUnavailable(doc.language)
        if not doc.text.strip():
            return []
        source = doc.text.encode("utf-8", errors="surrogatepass")
        root = parser.parse(source).root_node
        walk = _Walk(doc, spec, source, LineIndex(doc.text), self.max_chars)
        walk.note_receiver_types(root.named_children)
        walk.scope(root.named_children, _Frame())
        walk.gaps(1, walk.lines.count, "module", "", ())
        return walk.result()


@dataclass(frozen=True, slots=True)
class _Frame:
    """Where the walk is: the symbol prefix and the enclosing scopes' headers."""

    owner: str = ""  # "Foo" inside class Foo ("" outside classes)
    context: tuple[str, ...] = ()
    in_class: bool = False


class _Walk:
    """One document's walk; emits chunks and marks the lines they cover."""

    def __init__(
        self, doc: Document, spec: UnitSpec, source: bytes, lines: LineIndex, max_chars: int
    ) -> None:
        self.doc = doc
        self.spec = spec
        self.source = source
        self.lines = lines
        self.max_chars = max_chars
        self.chunks: list[Chunk] = []
        self.covered = bytearray(lines.count + 2)
        self.type_headers: dict[str, str] = {}  # class symbol -> its header

    def note_receiver_types(self, children: Sequence[Node]) -> None:
        """Go: headers of the types declared in the file, the context of their methods."""
        for node in children:
            if node.type == "type_declaration":
                self.type_headers[unit_name(node)] = header(node, None, self.source)

    def scope(self, children: Sequence[Node], frame: _Frame) -> None:
        """Emit the units among sibling nodes; comments directly above one join it."""
        attached = self.spec.attached
        pending: tuple[int, int] | None = None  # lines of the comments waiting for a unit
        previous_end = 0
        for node in children:
            start = first_line(node)
            if node.type in attached:
                if start == previous_end:  # a trailing comment on the previous line
                    continue
                end = last_line(node)
                pending = (pending[0], end) if pending and start <= pending[1] + 1 else (start, end)
                continue
            if pending is not None and pending[1] + 1 >= start:
                start = pending[0]
            pending = None
            previous_end = last_line(node)
            found = self.classify(node)
            if found is None:
                continue
            role, inner = found
            if role == "function":
                self.function(inner, start, previous_end, frame)
            elif role == "class":
                self.klass(inner, start, previous_end, frame)
            elif role == "scope":
                self.namespace(inner, frame)
            else:
                self.scope(inner.named_children, frame)

    def classify(self, node: Node) -> tuple[str, Node] | None:
        """(role, unit node) of a node, looking through wrappers; None for plain code."""
        spec = self.spec
        kind = node.type
        if kind in spec.functions:
            return "function", node
        if kind in spec.variables and assigned_function(node, spec.function_values) is not None:
            return "function", node
        if kind in spec.classes:
            bodied = kind not in spec.bodied or node.child_by_field_name("body") is not None
            return ("class", node) if bodied else None
        if kind in spec.typedefs:
            specifier = node.child_by_field_name("type")
            if (
                specifier is not None
                and specifier.type in spec.classes
                and specifier.child_by_field_name("body") is not None
            ):
                return "class", node
            return None
        if kind in spec.scopes:
            return ("scope", node) if node.child_by_field_name("body") is not None else None
        if kind in spec.transparent:
            return "transparent", node
        if kind in spec.wrappers:
            for child in node.named_children:
                found = self.classify(child)
                if found is not None:
                    return found
        return None

    def function(self, node: Node, start: int, end: int, frame: _Frame) -> None:
        name = unit_name(node)
        context = frame.context
        if node.type == "method_declaration" and node.child_by_field_name("receiver") is not None:
            kind, symbol = "method", f"{receiver_name(node)}.{name}"  # Go
        elif frame.in_class:
            kind, symbol = "method", f"{frame.owner}.{name}"
        else:  # C++ ``Foo::bar`` defined outside its class is a method too
            kind, symbol = ("method" if "." in name else "function"), name
        if kind == "method" and not frame.in_class:
            owner = symbol.rpartition(".")[0]
            title = self.type_headers.get(owner) or self.type_headers.get(owner.rpartition(".")[2])
            if title:
                context = (*context, title)
        value = assigned_function(node, self.spec.function_values)
        body = body_of(value if value is not None else node)
        signature = header(node, body, self.source)
        self.block(start, end, kind, symbol, context, first_line(node), signature)

    def klass(self, node: Node, start: int, end: int, frame: _Frame) -> None:
        name = unit_name(node)
        symbol = f"{frame.owner}.{name}" if frame.owner else name
        body = body_of(node)
        title = header(node, body, self.source)
        self.type_headers.setdefault(symbol, title)
        if self.lines.size(start, end) <= self.max_chars or body is None:
            self.block(start, end, "class", symbol, frame.context, first_line(node), title)
            return
        members = _Frame(owner=symbol, context=(*frame.context, title), in_class=True)
        self.scope(body.named_children, members)
        self.gaps(start, end, "class", symbol, frame.context, first_line(node), title)

    def namespace(self, node: Node, frame: _Frame) -> None:
        body = node.child_by_field_name("body")
        if body is None:
            return
        inner = _Frame(frame.owner, (*frame.context, header(node, body, self.source)), False)
        children = [body] if self.classify(body) is not None else body.named_children
        self.scope(children, inner)

    def block(
        self,
        start: int,
        end: int,
        kind: str,
        symbol: str,
        context: tuple[str, ...],
        header_line: int,
        title: str,
    ) -> None:
        """A unit's lines as one chunk, or as pieces when over the cap.

        Pieces after the one holding the declaration get its header as context.
        """
        lines = self.lines
        if lines.size(start, end) <= self.max_chars:
            self.emit(start, end, lines.span(start, end), kind, symbol, context)
        else:
            for piece in lines.pack(start, end, self.max_chars):
                scope = context if piece.first <= header_line else (*context, title)
                self.emit(piece.first, piece.last, piece.text, kind, symbol, scope)
        self.covered[start : end + 1] = b"\x01" * (end - start + 1)

    def gaps(
        self,
        first: int,
        last: int,
        kind: str,
        symbol: str,
        context: tuple[str, ...],
        header_line: int = 0,
        title: str = "",
    ) -> None:
        """Chunks for the lines in first..last that no unit took."""
        covered = self.covered
        n = first
        while n <= last:
            if covered[n]:
                n += 1
                continue
            run = n
            while n <= last and not covered[n]:
                n += 1
            for piece in self.lines.pack(run, n - 1, self.max_chars):
                scope = context if piece.first <= header_line or not title else (*context, title)
                self.emit(piece.first, piece.last, piece.text, kind, symbol, scope)
        covered[first : last + 1] = b"\x01" * (last - first + 1)

    def emit(
        self, start: int, end: int, text: str, kind: str, symbol: str, context: tuple[str, ...]
    ) -> None:
        self.chunks.append(
            Chunk(
                doc_key=self.doc.key,
                text=text,
                kind=kind,
                language=self.doc.language,
                start_line=start,
                end_line=end,
                symbol=symbol,
                context="\n".join(context),
            )
        )

    def result(self) -> list[Chunk]:
        """The chunks by line, with brace-only leftovers joined to a neighbour."""
        ordered = sorted(self.chunks, key=lambda c: (c.start_line, c.end_line))
        return join_trivia(ordered, self.lines, self.max_chars)
