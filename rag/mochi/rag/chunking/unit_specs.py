"""Which tree-sitter node types are chunk units, per language grammar."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """The node types of one grammar that the code chunker cares about.

    functions: become "function" chunks ("method" inside a class).
    classes: classes, structs, interfaces, enums, traits, impl blocks ("class" chunks);
        a big one is split into its header region and its members.
    bodied: class types that only count when they have a body (C ``struct s;``).
    typedefs: declarations that are a class when their type has a body (C typedef).
    variables: declarations that are a function when their value is one (JS arrows).
    function_values: the value node types that make such a declaration a function.
    wrappers: hold one unit and lend it their lines (decorators, export, template).
    scopes: namespaces and modules: units inside get the scope's header as context.
    transparent: blocks whose units count as if they were outside (preprocessor).
    attached: comments and attributes that belong to the unit directly below them.
    """

    functions: frozenset[str]
    classes: frozenset[str]
    bodied: frozenset[str] = frozenset()
    typedefs: frozenset[str] = frozenset()
    variables: frozenset[str] = frozenset()
    function_values: frozenset[str] = frozenset()
    wrappers: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    transparent: frozenset[str] = frozenset()
    attached: frozenset[str] = frozenset()


def _set(*names: str) -> frozenset[str]:
    return frozenset(names)


_PYTHON = UnitSpec(
    functions=_set("function_definition"),
    classes=_set("class_definition"),
    wrappers=_set("decorated_definition"),
    attached=_set("comment"),
)

_JAVASCRIPT = UnitSpec(
    functions=_set("function_declaration", "generator_function_declaration", "method_definition"),
    classes=_set("class_declaration", "class"),
    variables=_set("lexical_declaration", "variable_declaration", "field_definition"),
    function_values=_set("arrow_function", "function_expression", "function", "generator_function"),
    wrappers=_set("export_statement"),
    attached=_set("comment"),
)

_TYPESCRIPT = UnitSpec(
    functions=_JAVASCRIPT.functions,
    classes=_JAVASCRIPT.classes
    | _set(
        "abstract_class_declaration",
        "interface_declaration",
        "enum_declaration",
        "type_alias_declaration",
    ),
    variables=_set("lexical_declaration", "variable_declaration", "public_field_definition"),
    function_values=_JAVASCRIPT.function_values,
    wrappers=_set("export_statement", "ambient_declaration", "expression_statement"),
    scopes=_set("internal_module", "module"),
    attached=_set("comment"),
)

_GO = UnitSpec(
    functions=_set("function_declaration", "method_declaration"),
    classes=_set("type_declaration"),
    attached=_set("comment"),
)

_RUST = UnitSpec(
    functions=_set("function_item", "macro_definition"),
    classes=_set("struct_item", "enum_item", "union_item", "trait_item", "impl_item"),
    scopes=_set("mod_item"),
    attached=_set("line_comment", "block_comment", "attribute_item"),
)

_JAVA = UnitSpec(
    functions=_set(
        "method_declaration", "constructor_declaration", "compact_constructor_declaration"
    ),
    classes=_set(
        "class_declaration",
        "interface_declaration",
        "enum_declaration",
        "record_declaration",
        "annotation_type_declaration",
    ),
    transparent=_set("enum_body_declarations"),
    attached=_set("line_comment", "block_comment"),
)

_C_PREPROCESSOR = _set(
    "preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "preproc_elifdef"
)

_C = UnitSpec(
    functions=_set("function_definition"),
    classes=_set("struct_specifier", "union_specifier", "enum_specifier"),
    bodied=_set("struct_specifier", "union_specifier", "enum_specifier"),
    typedefs=_set("type_definition", "declaration", "field_declaration"),
    transparent=_C_PREPROCESSOR,
    attached=_set("comment"),
)

_CPP = UnitSpec(
    functions=_set("function_definition"),
    classes=_C.classes | _set("class_specifier"),
    bodied=_C.bodied | _set("class_specifier"),
    typedefs=_C.typedefs,
    wrappers=_set("template_declaration"),
    scopes=_set("namespace_definition", "linkage_specification"),
    transparent=_C_PREPROCESSOR,
    attached=_set("comment"),
)

_SPECS: dict[str, UnitSpec] = {
    "python": _PYTHON,
    "javascript": _JAVASCRIPT,
    "typescript": _TYPESCRIPT,
    "tsx": _TYPESCRIPT,
    "go": _GO,
    "rust": _RUST,
    "java": _JAVA,
    "c": _C,
    "cpp": _CPP,
}


def unit_spec(language: str) -> UnitSpec | None:
    """The unit table for a language name of `mochi.rag.languages`; None if unsupported."""
    return _SPECS.get(language)
