"""Names and their styles: which style a name is written in, the same name in another
style, and the names a file defines (Python through `ast`, other languages by a few
patterns)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

STYLES = ("snake_case", "camelCase", "PascalCase", "UPPER_CASE")
NAME_KINDS = ("function", "method", "class", "constant", "variable")

_STYLE_PATTERNS = {
    "snake_case": re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"),
    "camelCase": re.compile(r"[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+"),
    "PascalCase": re.compile(r"[A-Z][a-z0-9]*(?:[A-Z][a-z0-9]*)*"),
    "UPPER_CASE": re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*"),
}
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_OTHER_LANGUAGE_SITES = (
    ("function", re.compile(r"\b(?:function|func|fn|def)\s+([A-Za-z_$][\w$]*)")),
    ("class", re.compile(r"\b(?:class|struct|interface|trait|enum)\s+([A-Za-z_$][\w$]*)")),
    ("variable", re.compile(r"\b(?:let|var|const)\s+([A-Za-z_$][\w$]*)\s*[=:]")),
)


@dataclass(frozen=True, slots=True)
class NameSite:
    kind: str  # one of NAME_KINDS
    name: str
    line: int  # 0-based
    start: int  # columns (characters) of the name
    end: int


def styles_of(name: str) -> frozenset[str]:
    """The styles `name` is written in, leading and trailing underscores aside. A single
    lower-case word fits both snake_case and camelCase; a mixed name fits none."""
    core = name.strip("_")
    if not core:
        return frozenset()
    found = {style for style, pattern in _STYLE_PATTERNS.items() if pattern.fullmatch(core)}
    if "PascalCase" in found and not any(c.islower() for c in core):
        found.discard("PascalCase")  # "URL" is UPPER_CASE, "Url" PascalCase
    if re.fullmatch(r"[a-z][a-z0-9]*", core):
        found.add("camelCase")
    return frozenset(found)


def judged_name(name: str) -> bool:
    """Dunders (`__init__`), `_` and names without letters are never judged."""
    if name.startswith("__") and name.endswith("__"):
        return False
    return any(c.isalpha() for c in name)


def to_style(name: str, style: str) -> str:
    """`name` written in `style`, its leading and trailing underscores kept."""
    core = name.strip("_")
    lead = name[: len(name) - len(name.lstrip("_"))]
    trail = name[len(name.rstrip("_")) :] if core else ""
    words = [w.lower() for part in core.split("_") for w in _WORD.findall(part)]
    if not words:
        return name
    if style == "snake_case":
        body = "_".join(words)
    elif style == "UPPER_CASE":
        body = "_".join(w.upper() for w in words)
    elif style == "PascalCase":
        body = "".join(w.capitalize() for w in words)
    elif style == "camelCase":
        body = words[0] + "".join(w.capitalize() for w in words[1:])
    else:
        raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
    return lead + body + trail


def name_sites(path: str, text: str) -> list[NameSite]:
    """The names `text` defines: Python files through `ast` (a file that does not parse,
    and other languages, through a few patterns: def/function/fn, class/struct, let/const)."""
    if path.endswith((".py", ".pyi")):
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            pass
        else:
            return _PythonNames(text).collect(tree)
    return _pattern_sites(text)


class _PythonNames(ast.NodeVisitor):
    """Functions, methods and classes by their definitions; `constant`: a name assigned
    at module level; `variable`: a name assigned, looped over or taken as an argument
    inside a function."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        self.sites: list[NameSite] = []
        self.scopes: list[str] = ["module"]

    def collect(self, tree: ast.AST) -> list[NameSite]:
        self.visit(tree)
        return sorted(self.sites, key=lambda s: (s.line, s.start))

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        kind = "method" if self.scopes[-1] == "class" else "function"
        self._definition(kind, node.name, node.lineno - 1)
        for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
            if arg.arg not in ("self", "cls"):
                self._at("variable", arg.arg, arg.lineno - 1, arg.col_offset)
        self.scopes.append("function")
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._definition("class", node.name, node.lineno - 1)
        self.scopes.append("class")
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store) and self.scopes[-1] != "class":
            kind = "constant" if self.scopes[-1] == "module" else "variable"
            self._at(kind, node.id, node.lineno - 1, node.col_offset)

    def _definition(self, kind: str, name: str, row: int) -> None:
        line = self.lines[row] if 0 <= row < len(self.lines) else ""
        match = re.search(rf"\b(?:def|class)\s+({re.escape(name)})\b", line)
        if match is not None:
            self.sites.append(NameSite(kind, name, row, match.start(1), match.end(1)))

    def _at(self, kind: str, name: str, row: int, byte_col: int) -> None:
        line = self.lines[row] if 0 <= row < len(self.lines) else ""
        start = len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
        self.sites.append(NameSite(kind, name, row, start, start + len(name)))


def _pattern_sites(text: str) -> list[NameSite]:
    sites = []
    for row, line in enumerate(text.split("\n")):
        for kind, pattern in _OTHER_LANGUAGE_SITES:
            for match in pattern.finditer(line):
                sites.append(NameSite(kind, match.group(1), row, match.start(1), match.end(1)))
    return sorted(sites, key=lambda s: (s.line, s.start))
