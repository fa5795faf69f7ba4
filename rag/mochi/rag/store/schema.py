"""The collection schema every vector-store back end shares.

A point has a dense vector ``"dense"`` compared by cosine similarity (back ends
store it normalised) and a sparse vector ``"sparse"`` whose stored values are term
weights; the store multiplies query weights by the inverse document frequency
(``idf = ln((N - n + 0.5) / (n + 0.5) + 1)``) at search time.

The payload is written by the indexer. The store filters on four keyword fields;
``dirs`` holds every ancestor directory of the chunk's path so that a directory
filter is one exact keyword match.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Final

from mochi.rag.types import StoreFilter

DENSE_VECTOR: Final = "dense"
SPARSE_VECTOR: Final = "sparse"
DENSE_DISTANCE: Final = "cosine"
SPARSE_MODIFIER: Final = "idf"

LANGUAGE_FIELD: Final = "language"
KIND_FIELD: Final = "kind"
SOURCE_FIELD: Final = "source"
DIRS_FIELD: Final = "dirs"
KEYWORD_FIELDS: Final = (LANGUAGE_FIELD, KIND_FIELD, SOURCE_FIELD, DIRS_FIELD)
# Mean cosine similarity of a chunk's nearest neighbours (mochi.rag.index.density).
DENSITY_FIELD: Final = "density"


def normalize_dir(directory: str) -> str:
    """``"./rag/mochi/"`` -> ``"rag/mochi"``; ``""``, ``"."`` and ``"/"`` -> ``""``."""
    parts = [part for part in directory.replace("\\", "/").split("/") if part not in ("", ".")]
    return "/".join(parts)


def dirs_of(path: str) -> list[str]:
    """Every ancestor directory of a POSIX path, outermost first.

    ``"a/b/c.py"`` -> ``["a", "a/b"]``; a top-level file or a ``git:<sha>`` key -> ``[]``.
    """
    parents = PurePosixPath(normalize_dir(path)).parent.parts
    return ["/".join(parents[: depth + 1]) for depth in range(len(parents))]


@dataclass(frozen=True, slots=True)
class FieldMatch:
    """One keyword condition: the field holds (one of) `values`.

    For an array field (``dirs``) it is enough that one element matches.
    """

    key: str
    values: tuple[str, ...]


def filter_conditions(where: StoreFilter | None) -> list[FieldMatch]:
    """A `StoreFilter` as ANDed keyword conditions each back end translates; [] = none."""
    if where is None:
        return []
    conditions = [
        FieldMatch(key, tuple(dict.fromkeys(values)))
        for key, values in (
            (LANGUAGE_FIELD, where.languages),
            (KIND_FIELD, where.kinds),
            (SOURCE_FIELD, where.sources),
        )
        if values
    ]
    directory = normalize_dir(where.dir_prefix)
    if directory:
        conditions.append(FieldMatch(DIRS_FIELD, (directory,)))
    return conditions
