"""`mochi search` over the index share: its query, filters and hits as JSON values.

The `search_hits` call (see `share_wire`) takes `query`, `limit`, `filters` (the fields
of `SearchFilters`, lists for its tuples) and `mode`, and answers the hits as objects
with the fields of `Hit`, so that the command prints exactly what it prints when it
searches the index itself.
"""

from __future__ import annotations

import dataclasses
from typing import Any, get_args

from mochi.rag.retrieval.hybrid import Mode
from mochi.rag.types import Hit, SearchFilters

_FILTER_FIELDS = frozenset(f.name for f in dataclasses.fields(SearchFilters))
_DEFAULT_FILTERS = SearchFilters()
_HIT_FIELDS = tuple(f.name for f in dataclasses.fields(Hit))


def search_params(query: str, limit: int, filters: SearchFilters, mode: Mode) -> dict[str, Any]:
    """The params of a `search_hits` call."""
    wire = {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in dataclasses.asdict(filters).items()
    }
    return {"query": query, "limit": limit, "filters": wire, "mode": mode}


def filters_from_wire(data: object) -> SearchFilters:
    """The `filters` param back as `SearchFilters`; ValueError when malformed."""
    if not isinstance(data, dict):
        raise ValueError("filters must be an object")
    unknown = sorted(set(data) - _FILTER_FIELDS)
    if unknown:
        raise ValueError(f"unknown filters: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, value in data.items():
        default = getattr(_DEFAULT_FILTERS, name)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"filter {name} must be a list of strings")
            values[name] = tuple(value)
        elif type(value) is not type(default):
            raise ValueError(f"filter {name} must be a {type(default).__name__}")
        else:
            values[name] = value
    return SearchFilters(**values)


def check_search(query: object, limit: object, mode: object) -> None:
    """ValueError when the query, limit or mode cannot be searched with."""
    if not isinstance(query, str) or not query.strip():
        raise ValueError("query is empty")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit <= 0:
        raise ValueError("limit must be a positive number")
    if mode not in get_args(Mode):
        raise ValueError(f"mode must be one of {', '.join(get_args(Mode))}")


def hits_to_wire(hits: list[Hit]) -> list[dict[str, Any]]:
    return [dataclasses.asdict(hit) for hit in hits]


def hits_from_wire(data: object) -> list[Hit]:
    """The answer back as hits; ValueError when it is not a list of hit objects."""
    if not isinstance(data, list):
        raise ValueError("the hits are not a list")
    hits: list[Hit] = []
    for item in data:
        if not isinstance(item, dict) or not set(_HIT_FIELDS) <= set(item):
            raise ValueError("a hit is not an object with the fields of a Hit")
        hits.append(Hit(**{name: item[name] for name in _HIT_FIELDS}))
    return hits
