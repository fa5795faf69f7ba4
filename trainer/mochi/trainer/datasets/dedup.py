"""Exact and near-duplicate removal.

Exact: the hash of prompt and completion. Near: two samples are duplicates when both
their prompts and their completions have a token-shingle Jaccard similarity at or above
the threshold (the same task and the same answer, up to small edits). Similarity is
estimated with MinHash; candidates come from LSH buckets, so ~10k samples take seconds.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from mochi.trainer.samples import Sample

_TOKEN = re.compile(r"\w+|[^\w\s]")
SHINGLE = 3  # tokens per shingle
PERMUTATIONS = 128
BANDS = 32  # LSH bands per signature; rows per band = PERMUTATIONS // BANDS
_MASK32 = np.uint64(0xFFFFFFFF)

T = TypeVar("T")
Signature = npt.NDArray[np.uint32]


def exact_key(sample: Sample) -> str:
    return hashlib.sha256(f"{sample.prompt}\0{sample.completion}".encode()).hexdigest()


class MinHasher:
    """Token shingles -> MinHash signature; token ids are this instance's own."""

    def __init__(self, permutations: int = PERMUTATIONS) -> None:
        rng = np.random.default_rng(0x6D6F636869)  # fixed: signatures never depend on a seed
        self._a = rng.integers(1, 2**63, size=permutations, dtype=np.uint64) | np.uint64(1)
        self._b = rng.integers(0, 2**63, size=permutations, dtype=np.uint64)
        self._ids: dict[str, int] = {}

    def shingles(self, text: str) -> npt.NDArray[np.uint64]:
        ids = self._ids
        tokens = np.fromiter(
            (ids.setdefault(t, len(ids) + 1) for t in _TOKEN.findall(text)), dtype=np.uint64
        )
        if tokens.size < SHINGLE:
            return np.array([int(tokens.sum()) * 2654435761 + tokens.size], dtype=np.uint64)
        k1, k2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F)
        return np.unique(tokens[:-2] * k1 ^ tokens[1:-1] * k2 ^ tokens[2:])

    def signature(self, text: str) -> Signature:
        x = self.shingles(text)
        hashed = (np.outer(self._a, x) + self._b[:, None]) >> np.uint64(32)
        signature: Signature = (hashed.min(axis=1) & _MASK32).astype(np.uint32)
        return signature


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.count_nonzero(a == b)) / a.size


class NearDuplicates:
    """Remembers kept samples; `seen` says whether a new one nearly repeats one of them."""

    def __init__(self, threshold: float) -> None:
        self._threshold = threshold
        self._hasher = MinHasher()
        self._kept: list[tuple[Signature, Signature]] = []
        self._buckets: dict[tuple[int, bytes], list[int]] = defaultdict(list)

    def seen(self, sample: Sample) -> bool:
        """True for a near duplicate of a kept sample; else the sample is kept."""
        prompt = self._hasher.signature(sample.prompt)
        completion = self._hasher.signature(sample.completion)
        rows = PERMUTATIONS // BANDS
        keys = [
            (band, prompt[band * rows : (band + 1) * rows].tobytes()
             + completion[band * rows : (band + 1) * rows].tobytes())
            for band in range(BANDS)
        ]  # fmt: skip
        checked: set[int] = set()
        for key in keys:
            for index in self._buckets.get(key, ()):
                if index in checked:
                    continue
                checked.add(index)
                kept_prompt, kept_completion = self._kept[index]
                if (
                    similarity(prompt, kept_prompt) >= self._threshold
                    and similarity(completion, kept_completion) >= self._threshold
                ):
                    return True
        index = len(self._kept)
        self._kept.append((prompt, completion))
        for key in keys:
            self._buckets[key].append(index)
        return False


def deduplicate(
    items: Iterable[tuple[Sample, T]], threshold: float, counts: dict[str, int]
) -> Iterator[tuple[Sample, T]]:
    """The items whose sample is neither an exact nor a near repeat of an earlier one;
    counts what was dropped under "exact_duplicates" and "near_duplicates". A threshold
    of 1 keeps every sample that is not an exact repeat (MinHash only estimates)."""
    exact: set[str] = set()
    near = NearDuplicates(threshold)
    counts.setdefault("exact_duplicates", 0)
    counts.setdefault("near_duplicates", 0)
    for sample, tag in items:
        key = exact_key(sample)
        if key in exact:
            counts["exact_duplicates"] += 1
            continue
        exact.add(key)
        if threshold < 1.0 and near.seen(sample):
            counts["near_duplicates"] += 1
            continue
        yield sample, tag
