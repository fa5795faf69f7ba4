"""What a hover says about a symbol: its definition, docs and usages.

The definition is the one visible from the cursor's file, looked for in this order: the
file itself (the definition under the cursor, a method of the enclosing class for
`self.name`, a top-level one for a bare name), the module the file imports the name from,
then the whole index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from mochi.rag.retrieval.hybrid import Mode
from mochi.rag.types import Hit, SearchFilters
from mochi.server.assist.code_units import CodeUnit, Word, definitions
from mochi.server.assist.python_imports import imported_name, module_paths

DEFINITION_KINDS = ("function", "method", "class")


class IndexSearch(Protocol):
    """What a hover needs of the index (a `WorkspaceIndex` is one)."""

    def search(
        self, query: str, k: int = 10, filters: SearchFilters | None = None, mode: Mode = "hybrid"
    ) -> list[Hit]: ...


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the hover is: the file (its current text) and the cursor's line (0-based)."""

    path: str
    text: str
    line: int


@dataclass(frozen=True, slots=True)
class HoverFacts:
    name: str
    definition: Hit | None
    usages: tuple[Hit, ...]


def _defines(hit: Hit, name: str) -> bool:
    return hit.symbol == name or hit.symbol.endswith("." + name)


def _as_hit(path: str, unit: CodeUnit) -> Hit:
    return Hit(
        path, unit.start_line, unit.end_line, 1.0, unit.text, unit.kind, unit.language, unit.symbol
    )


def _header_line(unit: CodeUnit) -> int:
    """The 1-based line where the unit names itself (after decorators and comments)."""
    pattern = re.compile(rf"\b{re.escape(unit.name)}\b")
    lines = unit.text.split("\n")
    return unit.start_line + next((i for i, ln in enumerate(lines) if pattern.search(ln)), 0)


def local_definition(origin: Origin, word: Word) -> Hit | None:
    """The definition of `word` in the cursor's own file, if the file holds the one meant."""
    units = definitions(origin.path, origin.text)
    named = [u for u in units if u.name == word.name]
    line = origin.line + 1
    chosen = next((u for u in named if _header_line(u) == line), None)  # on the definition
    if chosen is None and word.qualifier in ("self", "cls"):
        owners = {
            u.symbol for u in units if u.kind == "class" and u.start_line <= line <= u.end_line
        }
        chosen = next((u for u in named if u.symbol.rpartition(".")[0] in owners), None)
    if chosen is None and not word.qualifier:
        chosen = next((u for u in named if u.symbol == word.name), None)
    return _as_hit(origin.path, chosen) if chosen is not None else None


def imported_definition(index: IndexSearch, origin: Origin, word: Word) -> Hit | None:
    """The definition in the workspace module the file imports the name from (Python)."""
    if not origin.path.endswith((".py", ".pyi")):
        return None
    source = imported_name(origin.text, word.name, word.qualifier)
    if source is None:
        return None
    for path in module_paths(source.module, origin.path):
        filters = SearchFilters(path_glob=path, kinds=DEFINITION_KINDS)
        hits = index.search(source.name, k=10, filters=filters)
        found = next((h for h in hits if h.symbol == source.name), None)
        if found is not None:
            return found
    return None


def indexed_definition(index: IndexSearch, name: str) -> Hit | None:
    candidates = index.search(name, k=20, filters=SearchFilters(kinds=DEFINITION_KINDS))
    return next((h for h in candidates if _defines(h, name)), None)


def hover_facts(
    index: IndexSearch, word: Word, max_usages: int = 5, origin: Origin | None = None
) -> HoverFacts:
    name = word.name
    definition = None
    if origin is not None:
        definition = local_definition(origin, word) or imported_definition(index, origin, word)
    definition = definition or indexed_definition(index, name)
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    usages: list[Hit] = []
    for hit in index.search(name, k=30, mode="sparse"):
        if definition is not None and (hit.path, hit.start_line) == (
            definition.path,
            definition.start_line,
        ):
            continue
        if hit.source != "code" or not pattern.search(hit.text):
            continue
        usages.append(hit)
        if len(usages) >= max_usages:
            break
    return HoverFacts(name, definition, tuple(usages))


def render_markdown(facts: HoverFacts, explanation: str = "") -> str | None:
    if facts.definition is None and not facts.usages:
        return None
    parts: list[str] = []
    d = facts.definition
    if d is not None:
        parts.append(f"**`{facts.name}`** — {d.kind} in `{d.path}:{d.start_line}`")
        body = "\n".join(d.text.split("\n")[:15])
        parts.append(f"```{d.language}\n{body}\n```")
    else:
        parts.append(f"**`{facts.name}`** (no definition found in the index)")
    if facts.usages:
        where = ", ".join(f"`{u.path}:{u.start_line}`" for u in facts.usages)
        parts.append(f"Used in: {where}")
    if explanation:
        parts.append(explanation)
    return "\n\n".join(parts)
