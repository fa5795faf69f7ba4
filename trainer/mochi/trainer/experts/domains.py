"""Cut a dataset's samples into domains, one LoRA expert each.

rule "language"   the language of the sample's file (mochi.rag.languages.classify)
rule "directory"  its top-level folder (files at the top are the domain "root")
rule "kmeans"     k-means clusters of its file's embedding (e.g. the mean of the index's
                  chunk embeddings of the file), given as a mapping path -> vector

A domain with fewer than `min_samples` samples gets no under-trained expert of its own:
it joins the domain whose centroid is nearest (when there are embeddings) or else an
"other" domain of all such small ones, which itself joins the largest domain when it is
still too small. Samples without a file (commit pairs) belong to no domain.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import numpy as np

from mochi.rag.languages import classify
from mochi.trainer.experts.kmeans import kmeans
from mochi.trainer.samples import Sample

RULES = ("language", "directory", "kmeans")
OTHER = "other"
ROOT = "root"  # the directory domain of the files at the top of the repository
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")

Embeddings = Mapping[str, Sequence[float]]  # file path -> embedding


class DomainError(ValueError):
    """Bad partition options or inputs; the message names the option."""


@dataclass(frozen=True)
class Domain:
    name: str  # letters, digits, '_', '.', '-' (fits an adapter name)
    samples: tuple[Sample, ...]
    files: tuple[str, ...]  # the sample files, sorted
    languages: tuple[str, ...]
    paths: tuple[str, ...]  # globs that cover its files ("pkg_a/*", "*.py", "setup.py")
    centroid: tuple[float, ...] | None  # unit mean of its samples' file embeddings


@dataclass(frozen=True)
class Partition:
    rule: str
    domains: tuple[Domain, ...]  # largest first
    unassigned: int  # samples without a file (or, for kmeans, without an embedding)


def partition(
    samples: Sequence[Sample],
    rule: str,
    *,
    min_samples: int = 1,
    embeddings: Embeddings | None = None,
    clusters: int = 4,
    seed: int = 0,
) -> Partition:
    """The domains of `samples` by `rule` (see the module's docstring)."""
    if rule not in RULES:
        raise DomainError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    if min_samples < 1:
        raise DomainError(f"min_samples must be >= 1, got {min_samples}")
    if rule == "kmeans" and embeddings is None:
        raise DomainError("rule 'kmeans' needs embeddings of the files")
    with_file = [s for s in samples if s.path]
    unassigned = len(samples) - len(with_file)
    if rule == "kmeans":
        assert embeddings is not None
        embedded = [s for s in with_file if s.path in embeddings]
        unassigned += len(with_file) - len(embedded)
        keys = _cluster_keys(sorted({s.path for s in embedded}), embeddings, clusters, seed)
        with_file = embedded
    else:
        keys = {path: domain_key(path, rule) for path in {s.path for s in with_file}}
    groups: dict[str, list[Sample]] = {}
    for sample in with_file:
        groups.setdefault(keys[sample.path], []).append(sample)
    units = unit_embeddings(embeddings) if embeddings is not None else None
    merged = _merge_small(groups, min_samples, units)
    domains = [_domain(name, group, rule, units) for name, group in merged.items()]
    domains.sort(key=lambda d: (-len(d.samples), d.name))
    return Partition(rule, tuple(domains), unassigned)


def domain_key(path: str, rule: str) -> str:
    """The domain a file falls in by the language or directory rule."""
    if rule == "language":
        return classify(path)[0]
    if rule == "directory":
        parts = PurePosixPath(path).parts
        return domain_name(parts[0]) if len(parts) > 1 else ROOT
    raise DomainError(f"no fixed domain of a path for rule {rule!r}")


def domain_name(text: str) -> str:
    """`text` as a name an adapter can carry ("my pkg" -> "my-pkg")."""
    name = _UNSAFE.sub("-", text).strip("-.")[:40]
    return name if name and name[0].isalnum() else f"d-{name}".rstrip("-") or "d"


def unit_embeddings(embeddings: Embeddings) -> dict[str, np.ndarray]:
    units: dict[str, np.ndarray] = {}
    for path, vector in embeddings.items():
        array = np.asarray(vector, dtype=np.float64)
        norm = float(np.linalg.norm(array))
        if array.ndim != 1 or not np.isfinite(norm):
            raise DomainError(f"the embedding of {path} is not a finite vector")
        units[path] = array / norm if norm > 0 else array
    dims = {len(v) for v in units.values()}
    if len(dims) > 1:
        raise DomainError(f"the file embeddings have different lengths: {sorted(dims)}")
    return units


def _cluster_keys(
    files: list[str], embeddings: Embeddings, clusters: int, seed: int
) -> dict[str, str]:
    if clusters < 1:
        raise DomainError(f"clusters must be >= 1, got {clusters}")
    if not files:
        return {}
    units = unit_embeddings({path: embeddings[path] for path in files})
    labels = kmeans(np.array([units[path] for path in files]), clusters, seed)
    return {path: f"cluster-{label}" for path, label in zip(files, labels.tolist(), strict=True)}


def _merge_small(
    groups: dict[str, list[Sample]],
    min_samples: int,
    units: Mapping[str, np.ndarray] | None,
) -> dict[str, list[Sample]]:
    big = {name: group for name, group in groups.items() if len(group) >= min_samples}
    small = sorted((name for name in groups if name not in big), key=lambda n: (len(groups[n]), n))
    if not big:  # nothing is large enough: one domain of everything
        everything = [s for name in sorted(groups) for s in groups[name]]
        return {OTHER: everything} if everything else {}
    if units is not None:
        centres = {name: _centroid(group, units) for name, group in big.items()}
        largest = max(big, key=lambda n: (len(big[n]), n))
        for name in small:
            nearest = _nearest(_centroid(groups[name], units), centres) or largest
            big[nearest] = big[nearest] + groups[name]
        return big
    pooled = [s for name in small for s in groups[name]]
    if not pooled:
        return big
    if len(pooled) >= min_samples and OTHER not in big:
        return {**big, OTHER: pooled}
    largest = max(big, key=lambda n: (len(big[n]), n == OTHER, n))
    big[largest] = big[largest] + pooled
    return big


def _nearest(centre: np.ndarray | None, centres: Mapping[str, np.ndarray | None]) -> str | None:
    """The name of the centre most similar to `centre` (cosine: all are unit vectors)."""
    if centre is None:
        return None
    scored = [(float(c @ centre), name) for name, c in centres.items() if c is not None]
    return max(scored)[1] if scored else None


def _centroid(samples: Sequence[Sample], units: Mapping[str, np.ndarray]) -> np.ndarray | None:
    vectors = [units[s.path] for s in samples if s.path in units]
    if not vectors:
        return None
    mean = np.asarray(np.mean(vectors, axis=0), dtype=np.float64)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean


def _domain(
    name: str, samples: list[Sample], rule: str, units: Mapping[str, np.ndarray] | None
) -> Domain:
    files = sorted({s.path for s in samples})
    centre = _centroid(samples, units) if units is not None else None
    return Domain(
        name=name,
        samples=tuple(samples),
        files=tuple(files),
        languages=tuple(sorted({classify(path)[0] for path in files})),
        paths=domain_globs(files, rule),
        centroid=tuple(float(x) for x in centre) if centre is not None else None,
    )


def domain_globs(files: Sequence[str], rule: str) -> tuple[str, ...]:
    """Language: the files' extensions ("*.py"); otherwise their top folders ("pkg/*"),
    and the top-level files by name."""
    found = set()
    for path in files:
        pure = PurePosixPath(path)
        if rule == "language":
            found.add(f"*{pure.suffix}" if pure.suffix else path)
        else:
            found.add(f"{pure.parts[0]}/*" if len(pure.parts) > 1 else path)
    return tuple(sorted(found))
