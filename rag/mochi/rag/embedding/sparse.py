"""A BM25-style sparse vector with code-aware tokens.

Passages carry saturated term frequencies (BM25's tf part, length-normalised
against a fixed average length); queries carry 1.0 per distinct term. The store
applies IDF (Qdrant's `Modifier.IDF`), so score = Σ idf(t) · tf_bm25(t, d).
Identifiers are split at snake_case and camelCase boundaries and also kept
whole, so `getUserName` matches "user name" and `get_user_name`.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter

from mochi.rag.types import SparseVector

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_CAMEL_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")

STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "with",
        "you",
        "your",
        "do",
        "does",
        "can",
        "get",
        "using",
        "use",
    ]
)


def _stem(word: str) -> str:
    """A deliberately light stemmer: plural and -ing/-ed forms meet their stem."""
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def code_tokens(text: str) -> list[str]:
    """Lower-cased, lightly stemmed tokens; compound identifiers give whole + parts."""
    tokens: list[str] = []
    for match in _WORD.finditer(text):
        word = match.group()
        parts = [p for p in _CAMEL_PARTS.findall(word.replace("_", " ")) if p]
        lowered = word.strip("_").lower()
        if len(parts) > 1 and lowered:
            tokens.append(lowered)
        for part in parts:
            low = part.lower()
            if len(low) < 2 or low in STOPWORDS:
                continue
            tokens.append(_stem(low))
    return tokens


def token_id(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) & 0x7FFFFFFF


class Bm25SparseEncoder:
    def __init__(self, *, k1: float = 1.2, b: float = 0.75, avg_len: float = 120.0) -> None:
        if k1 < 0 or not 0 <= b <= 1 or avg_len <= 0:
            raise ValueError("need k1 >= 0, 0 <= b <= 1 and avg_len > 0")
        self.k1 = k1
        self.b = b
        self.avg_len = avg_len

    def encode_passage(self, text: str) -> SparseVector:
        tokens = code_tokens(text)
        if not tokens:
            return SparseVector((), ())
        counts = Counter(token_id(t) for t in tokens)
        norm = self.k1 * (1 - self.b + self.b * len(tokens) / self.avg_len)
        items = sorted(counts.items())
        return SparseVector(
            tuple(i for i, _ in items),
            tuple(tf * (self.k1 + 1) / (tf + norm) for _, tf in items),
        )

    def encode_query(self, text: str) -> SparseVector:
        ids = sorted({token_id(t) for t in code_tokens(text)})
        return SparseVector(tuple(ids), tuple(1.0 for _ in ids))
