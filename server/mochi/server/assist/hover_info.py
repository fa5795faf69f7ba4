"""What a hover says about a symbol: its definition, docs and usages, from the index."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mochi.rag.index import WorkspaceIndex
from mochi.rag.types import Hit, SearchFilters

DEFINITION_KINDS = ("function", "method", "class")


@dataclass(frozen=True, slots=True)
class HoverFacts:
    name: str
    definition: Hit | None
    usages: tuple[Hit, ...]


def _defines(hit: Hit, name: str) -> bool:
    return hit.symbol == name or hit.symbol.endswith("." + name)


def hover_facts(index: WorkspaceIndex, name: str, max_usages: int = 5) -> HoverFacts:
    candidates = index.search(name, k=20, filters=SearchFilters(kinds=DEFINITION_KINDS))
    definition = next((h for h in candidates if _defines(h, name)), None)
    word = re.compile(rf"\b{re.escape(name)}\b")
    usages: list[Hit] = []
    for hit in index.search(name, k=30, mode="sparse"):
        if definition is not None and (hit.path, hit.start_line) == (
            definition.path,
            definition.start_line,
        ):
            continue
        if hit.source != "code" or not word.search(hit.text):
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
