"""The filters argument of `mochi.search`, as `mochi search`'s options give them:
`{"glob": "src/**", "exclude": ["docs/**"], "noTests": true, "languages": ["python"]}`."""

from __future__ import annotations

from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from mochi.rag.types import SearchFilters

_LISTS = {"exclude": "exclude_globs", "languages": "languages", "kinds": "kinds"}
KEYS = ("glob", "noTests", *_LISTS)


def search_filters(value: dict[str, Any]) -> SearchFilters:
    """Raises JsonRpcInvalidParams naming the key that is unknown or of the wrong type."""
    unknown = sorted(set(value) - set(KEYS))
    if unknown:
        raise JsonRpcInvalidParams(
            f"unknown search filter {unknown[0]!r}; known: {', '.join(KEYS)}"
        )
    glob = value.get("glob", "")
    if not isinstance(glob, str):
        raise JsonRpcInvalidParams("search filter 'glob' must be a string")
    no_tests = value.get("noTests", False)
    if not isinstance(no_tests, bool):
        raise JsonRpcInvalidParams("search filter 'noTests' must be true or false")
    lists: dict[str, tuple[str, ...]] = {}
    for key, field in _LISTS.items():
        items = value.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise JsonRpcInvalidParams(f"search filter {key!r} must be a list of strings")
        lists[field] = tuple(items)
    return SearchFilters(path_glob=glob, exclude_tests=no_tests, **lists)
