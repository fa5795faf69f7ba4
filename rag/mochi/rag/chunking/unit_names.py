"""Names, bodies, headers and line numbers of tree-sitter unit nodes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node

_HEADER_CAP = 200
# C/C++ declarations whose type may be a struct/union/enum/class with a body.
_TYPE_DECLARATIONS = frozenset({"type_definition", "declaration", "field_declaration"})
# Declarators wrapped around a C/C++ function declarator (``*f(void)``, ``&g()``).
_DECLARATOR_WRAPPERS = frozenset(
    {
        "pointer_declarator",
        "reference_declarator",
        "attributed_declarator",
        "parenthesized_declarator",
    }
)
# Type nodes that wrap the name of the implementing type in a Rust impl block.
_TYPE_WRAPPERS = frozenset(
    {"generic_type", "reference_type", "pointer_type", "scoped_type_identifier"}
)


def first_line(node: Node) -> int:
    """1-based line where `node` starts."""
    return node.start_point.row + 1


def last_line(node: Node) -> int:
    """1-based last line holding text of `node` (a trailing newline does not count)."""
    row, column = node.end_point
    return max(node.start_point.row + 1, row + 1 if column > 0 else row)


def text_of(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", errors="replace")


def dotted(name: str) -> str:
    """Scope separators of every language as ``.`` (``ns::Foo::bar`` -> ``ns.Foo.bar``)."""
    return name.replace("::", ".")


def unit_name(node: Node) -> str:
    """The unit's own name: ``bar`` for a method, ``Stack`` for ``impl<T> Stack<T>``."""
    kind = node.type
    if kind == "function_definition" and node.child_by_field_name("name") is None:
        return dotted(text_of(_c_function_name(node)))
    if kind == "impl_item":
        return _type_name(node.child_by_field_name("type"))
    if kind == "type_declaration":  # Go: the first spec of ``type X ...`` or ``type (...)``
        spec = next((c for c in node.named_children if c.type in ("type_spec", "type_alias")), None)
        return text_of(spec.child_by_field_name("name")) if spec is not None else ""
    if kind in _TYPE_DECLARATIONS:  # C: ``typedef struct {...} box;``
        specifier = node.child_by_field_name("type")
        named = specifier.child_by_field_name("name") if specifier is not None else None
        return text_of(named) or _declarator_name(node.child_by_field_name("declarator"))
    if kind in ("lexical_declaration", "variable_declaration"):
        declarator = next((c for c in node.named_children if c.type == "variable_declarator"), None)
        return text_of(declarator.child_by_field_name("name")) if declarator is not None else ""
    if kind == "field_definition":
        return text_of(node.child_by_field_name("property"))
    return text_of(node.child_by_field_name("name"))


def receiver_name(node: Node) -> str:
    """Go: the type a method is declared on (``func (s *Store[T]) Add()`` -> ``Store``)."""
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return ""
    param = next((c for c in receiver.named_children if c.type == "parameter_declaration"), None)
    return _type_name(param.child_by_field_name("type") if param is not None else None)


def assigned_function(node: Node, values: frozenset[str]) -> Node | None:
    """JS/TS: the function a declaration or field holds (``const f = () => {}``), if any."""
    if node.type in ("lexical_declaration", "variable_declaration"):
        declarators = [c for c in node.named_children if c.type == "variable_declarator"]
        if len(declarators) != 1:
            return None
        node = declarators[0]
    value = node.child_by_field_name("value")
    return value if value is not None and value.type in values else None


def body_of(node: Node) -> Node | None:
    """The node holding a unit's members or statements, if it has one."""
    body = node.child_by_field_name("body")
    if body is None and node.type in _TYPE_DECLARATIONS:
        specifier = node.child_by_field_name("type")
        body = specifier.child_by_field_name("body") if specifier is not None else None
    return body


def header(node: Node, body: Node | None, source: bytes) -> str:
    """The declaration line(s) of a unit, up to its body, on one line.

    ``class Foo(Base):``, ``impl<T> Stack<T>``, ``def bar(self) -> int:``; the whole
    first line when the unit has no body.
    """
    begin = node.start_byte - node.start_point.column
    if body is not None and body.start_byte > node.start_byte:
        end = body.start_byte
    else:
        end = source.find(b"\n", node.start_byte)
        end = node.end_byte if end < 0 else min(end, node.end_byte)
    text = " ".join(source[begin:end].decode("utf-8", errors="replace").split())
    return text.rstrip("{ ")[:_HEADER_CAP]


def _c_function_name(node: Node) -> Node | None:
    declarator = node.child_by_field_name("declarator")
    while declarator is not None and declarator.type in _DECLARATOR_WRAPPERS:
        inner = declarator.child_by_field_name("declarator")
        declarator = inner if inner is not None else _last_named(declarator)
    if declarator is None or declarator.type != "function_declarator":
        return None
    return declarator.child_by_field_name("declarator")


def _declarator_name(declarator: Node | None) -> str:
    while declarator is not None and declarator.child_by_field_name("declarator") is not None:
        declarator = declarator.child_by_field_name("declarator")
    return text_of(declarator)


def _type_name(node: Node | None) -> str:
    while node is not None and node.type in _TYPE_WRAPPERS:
        field = "name" if node.type == "scoped_type_identifier" else "type"
        inner = node.child_by_field_name(field)
        node = inner if inner is not None else _last_named(node)
    return text_of(node)


def _last_named(node: Node) -> Node | None:
    children = node.named_children
    return children[-1] if children else None
