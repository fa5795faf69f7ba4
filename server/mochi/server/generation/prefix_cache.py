"""Reuse of the KV cache of earlier prompts that share a prefix with a new one.

An editor sends prompt after prompt that differ only near the cursor, so most of a new
prompt's keys and values were computed for the previous one. `PrefixCache` keeps the KV
caches of the last few prompts (LRU, per adapter: an adapter changes the values) together
with the token ids they hold; `checkout` hands out the one that shares the longest prefix
with a new prompt, cut back to that prefix, so that only the new tail is prefilled.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol


class KvCache(Protocol):
    """The part of transformers' `DynamicCache` this module uses."""

    def get_seq_length(self) -> int: ...

    def crop(self, tokens_to_remove: int) -> None: ...


def crop_to(cache: KvCache, length: int) -> None:
    """Keep the first `length` positions. A negative argument means "remove that many" in
    every transformers version (newer ones refuse a positive one)."""
    excess = cache.get_seq_length() - length
    if excess > 0:
        cache.crop(-excess)


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


@dataclass(slots=True)
class CachedPrompt:
    """A KV cache and the token ids whose keys and values it holds, in order."""

    adapter: str | None
    token_ids: list[int]
    cache: KvCache


@dataclass(slots=True)
class Checkout:
    """What a request starts from: `reused` leading prompt tokens are in `cache` already."""

    cache: KvCache | None
    reused: int = 0
    token_ids: list[int] = field(default_factory=list)


class PrefixCache:
    """A small LRU of `CachedPrompt`s. Thread-safe; entries are handed out, not shared.

    Bounded by entry count and by the tokens held in all (SmolLM2-135M keeps ~23 KB of
    keys and values per token in bfloat16, so the default budget is ~370 MB).
    """

    def __init__(self, max_entries: int = 4, max_tokens: int = 16384) -> None:
        if max_entries < 0 or max_tokens < 0:
            raise ValueError(f"limits must be >= 0, not {max_entries} entries, {max_tokens} tokens")
        self._max_entries = max_entries
        self._max_tokens = max_tokens
        self._entries: list[CachedPrompt] = []  # least recently used first
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def checkout(self, adapter: str | None, prompt_ids: Sequence[int]) -> Checkout:
        """The cache to extend for `prompt_ids`, cropped to the shared prefix.

        At least the last prompt token is left to prefill (its logits pick the first new
        token). An entry that the prompt mostly extends is taken out of the LRU (the caller
        checks it back in when done); one that shares only a short prefix is copied, so that
        a switch to another file does not destroy the cache of the one before.
        """
        limit = len(prompt_ids) - 1
        with self._lock:
            best: CachedPrompt | None = None
            best_len = 0
            for entry in self._entries:
                if entry.adapter != adapter:
                    continue
                shared = min(common_prefix(entry.token_ids, prompt_ids), limit)
                if shared > best_len:
                    best, best_len = entry, shared
            if best is None:
                return Checkout(cache=None)
            if 2 * best_len >= len(best.token_ids):
                self._entries.remove(best)
                cache = best.cache
            else:
                cache = copy.deepcopy(best.cache)
        crop_to(cache, best_len)
        return Checkout(cache=cache, reused=best_len, token_ids=list(prompt_ids[:best_len]))

    def checkin(self, adapter: str | None, token_ids: Sequence[int], cache: KvCache) -> None:
        """Keep `cache` (holding `token_ids`) as the most recently used entry."""
        if self._max_entries == 0 or not token_ids:
            return
        entry = CachedPrompt(adapter, list(token_ids), cache)
        with self._lock:
            self._entries = [
                e
                for e in self._entries
                if not (e.adapter == adapter and _is_prefix(e.token_ids, entry.token_ids))
            ]
            self._entries.append(entry)
            del self._entries[: -self._max_entries]
            while len(self._entries) > 1 and self._tokens() > self._max_tokens:
                del self._entries[0]

    def _tokens(self) -> int:
        return sum(len(e.token_ids) for e in self._entries)

    def invalidate(self, adapter: str | None) -> None:
        """Forget the caches computed with `adapter` (it was replaced)."""
        with self._lock:
            self._entries = [e for e in self._entries if e.adapter != adapter]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _is_prefix(shorter: Sequence[int], longer: Sequence[int]) -> bool:
    return len(shorter) <= len(longer) and common_prefix(shorter, longer) == len(shorter)
