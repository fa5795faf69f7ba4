"""Cross-file context for a cursor: what the index holds that the code here uses.

Shared by the language server (completion prompts) and the trainer (retrieval-aware
samples), so that the model is trained on the context it will be shown."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict

from mochi.rag.prompting import ContextSnippet
from mochi.rag.protocols import Retriever
from mochi.rag.types import SearchFilters

_IMPORT = re.compile(r"^\s*(?:from\s+(\S+)\s+)?import\s+(.+)$|^\s*#include\s+[<\"](.+)[>\"]", re.M)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{2,}")
RECENT_LINES = 12


def context_query(prefix: str) -> str:
    """Retrieval query: imported names plus the complete lines before the cursor's line.

    The line being typed is left out, so the query (and so the context, and the
    prompt's beginning) stays the same while the user types on one line.
    """
    lines = prefix.split("\n")[:-1]
    recent = [ln.strip() for ln in lines if ln.strip()][-RECENT_LINES:]
    imported: list[str] = []
    for match in _IMPORT.finditer("\n".join(lines[:200])):
        for group in match.groups():
            imported.extend(_IDENT.findall(group or ""))
    names = " ".join(dict.fromkeys(imported))
    return (names + "\n" + "\n".join(recent)).strip()


class ContextBuilder:
    """Finds snippets in other files for a cursor; remembers recent answers."""

    def __init__(self, retriever: Retriever, k: int = 6, cache_size: int = 64) -> None:
        self._retriever = retriever
        self._k = k
        self._cache: OrderedDict[tuple[str, str], list[ContextSnippet]] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    def snippets(self, path: str, prefix: str) -> list[ContextSnippet]:
        query = context_query(prefix)
        if not query:
            return []
        key = (path, query)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        hits = self._retriever.retrieve(query, self._k * 2, SearchFilters(sources=("code",)))
        found = [
            ContextSnippet(h.path, h.start_line, h.text, h.symbol) for h in hits if h.path != path
        ][: self._k]
        with self._lock:
            self._cache[key] = found
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return found
