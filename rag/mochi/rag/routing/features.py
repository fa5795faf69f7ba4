"""What a router sees of a request, the same at training and at serving time.

A request becomes a `RouteFeatures`: the unit-normalised embedding of the code before
the cursor (its last `context_chars` characters) and a vector that appends to it a
one-hot request kind, a one-hot language and a few hashed buckets of the path's
folders. Changing anything here changes what a trained gate reads: bump
`FEATURE_VERSION` so that a gate built on the old layout is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np
import numpy.typing as npt

from mochi.rag.languages import CODE_EXTENSIONS, DOC_EXTENSIONS
from mochi.rag.protocols import Embedder

FEATURE_VERSION = 1
DEFAULT_CONTEXT_CHARS = 1500
# What the request asks for; anything else counts as "other".
REQUEST_KINDS: tuple[str, ...] = ("completion", "inline", "hover", "ask", "other")
LANGUAGES: tuple[str, ...] = tuple(
    sorted(set(CODE_EXTENSIONS.values()) | set(DOC_EXTENSIONS.values()) | {"text"})
)
PATH_BUCKETS = 32
PATH_DEPTH = 3  # folders hashed: the top three (the domain is usually there)

Vector = npt.NDArray[np.float32]
EmbedTexts = Callable[[Sequence[str]], "npt.ArrayLike"]


@dataclass(frozen=True, slots=True)
class RouteInput:
    kind: str  # one of REQUEST_KINDS (others count as "other")
    language: str  # a name from mochi.rag.languages ("text" when unknown)
    path: str  # workspace-relative, with "/"
    before_cursor: str  # the document's text before the cursor


@dataclass(frozen=True, slots=True, eq=False)
class RouteFeatures:
    embedding: Vector  # unit norm (zero when the text was empty)
    vector: Vector  # embedding + kind one-hot + language one-hot + path buckets

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, RouteFeatures)
            and np.array_equal(self.embedding, other.embedding)
            and np.array_equal(self.vector, other.vector)
        )

    __hash__ = None  # type: ignore[assignment]  # arrays: equal by value, not hashable


def feature_dim(embedding_dim: int) -> int:
    """The length of `RouteFeatures.vector` for an embedder of `embedding_dim`."""
    return embedding_dim + len(REQUEST_KINDS) + len(LANGUAGES) + PATH_BUCKETS


def routed_text(item: RouteInput, context_chars: int = DEFAULT_CONTEXT_CHARS) -> str:
    """The text that is embedded: the tail of the code before the cursor, or the path
    when there is none yet (an empty file still says where it is)."""
    tail = item.before_cursor[-context_chars:] if context_chars > 0 else ""
    return tail if tail.strip() else item.path


def route_features_many(
    items: Sequence[RouteInput],
    embed: EmbedTexts,
    context_chars: int = DEFAULT_CONTEXT_CHARS,
) -> list[RouteFeatures]:
    """Features of many requests with one call of `embed` (the trainer's batches)."""
    if not items:
        return []
    raw = np.asarray(embed([routed_text(i, context_chars) for i in items]), dtype=np.float32)
    if raw.ndim != 2 or raw.shape[0] != len(items):
        raise ValueError(f"embed returned shape {raw.shape} for {len(items)} texts")
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    unit = np.divide(raw, norms, out=np.zeros_like(raw), where=norms > 0)
    return [
        RouteFeatures(embedding=row, vector=np.concatenate([row, _categorical(item)]))
        for row, item in zip(unit, items, strict=True)
    ]


def route_features(
    kind: str,
    language: str,
    path: str,
    before_cursor: str,
    embed: EmbedTexts,
    context_chars: int = DEFAULT_CONTEXT_CHARS,
) -> RouteFeatures:
    """The features of one request (the server, once per completion)."""
    item = RouteInput(kind, language, path, before_cursor)
    return route_features_many([item], embed, context_chars)[0]


def _categorical(item: RouteInput) -> Vector:
    kinds = np.zeros(len(REQUEST_KINDS), dtype=np.float32)
    kinds[REQUEST_KINDS.index(item.kind if item.kind in REQUEST_KINDS else "other")] = 1.0
    languages = np.zeros(len(LANGUAGES), dtype=np.float32)
    languages[LANGUAGES.index(item.language if item.language in LANGUAGES else "text")] = 1.0
    return np.concatenate([kinds, languages, path_buckets(item.path)])


def path_buckets(path: str) -> Vector:
    """The top PATH_DEPTH folders of `path`, each hashed (with its depth) into one of
    PATH_BUCKETS; a stable hash, so training and serving agree across processes."""
    buckets = np.zeros(PATH_BUCKETS, dtype=np.float32)
    folders = PurePosixPath(path.replace("\\", "/")).parts[:-1]
    for depth, folder in enumerate(folders[:PATH_DEPTH]):
        digest = hashlib.blake2b(f"{depth}:{folder}".encode(), digest_size=4).digest()
        buckets[int.from_bytes(digest, "little") % PATH_BUCKETS] = 1.0
    return buckets


def passage_embedding(embedder: Embedder) -> EmbedTexts:
    """`embed` for the functions above from an index embedder: code is embedded as a
    passage, by the trainer and the server alike."""

    def embed(texts: Sequence[str]) -> list[list[float]]:
        return embedder.embed_passages(list(texts))

    return embed
