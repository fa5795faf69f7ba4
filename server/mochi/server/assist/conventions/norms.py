"""The repository's own distribution: how surprising its lines are under the model (and
adapter), and which naming style each kind of name takes, per language. Built once
from a sample of the repository's code and cached as JSON, keyed by the model's identity
and the adapter."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mochi.rag.atomic_file import write_atomically
from mochi.rag.languages import classify
from mochi.rag.types import Progress
from mochi.server.assist.conventions.naming import judged_name, name_sites, styles_of
from mochi.server.assist.conventions.surprise import (
    line_surprises,
    quantile,
    quantile_table,
    rank,
    score_text,
)
from mochi.server.generation.scoring import Scorer
from mochi.server.generation.types import CancelToken

log = logging.getLogger(__name__)
NORMS_VERSION = 1
# language -> kind -> style -> names written only in that style
NamingCounts = dict[str, dict[str, dict[str, int]]]


@dataclass(frozen=True, slots=True)
class DominantStyle:
    style: str
    share: float  # of the kind's names written only in one style
    names: int


@dataclass(frozen=True)
class RepositoryNorms:
    model: str  # the model's identity (ModelInfo.model_id)
    adapter: str | None
    surprise_quantiles: tuple[float, ...] = ()  # empty: no scorer (e.g. the vLLM back end)
    lines: int = 0  # lines in the calibration sample
    files: int = 0  # files scored
    naming: NamingCounts = field(default_factory=dict)
    named_files: int = 0  # files scanned for names
    created: float = 0.0
    version: int = NORMS_VERSION

    @property
    def has_surprise(self) -> bool:
        return bool(self.surprise_quantiles)

    def surprise_at(self, q: float) -> float:
        return quantile(self.surprise_quantiles, q)

    def surprise_rank(self, value: float) -> float:
        return rank(self.surprise_quantiles, value)

    def dominant_style(
        self, language: str, kind: str, *, min_names: int = 5, min_share: float = 0.8
    ) -> DominantStyle | None:
        counts = self.naming.get(language, {}).get(kind, {})
        total = sum(counts.values())
        if total < min_names:
            return None
        style, count = max(counts.items(), key=lambda item: item[1])
        share = count / total
        return DominantStyle(style, share, total) if share >= min_share else None

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "version": self.version,
            "model": self.model,
            "adapter": self.adapter,
            "surprise_quantiles": list(self.surprise_quantiles),
            "lines": self.lines,
            "files": self.files,
            "naming": self.naming,
            "named_files": self.named_files,
            "created": self.created,
        }
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> RepositoryNorms:
        data = json.loads(text)
        if data.get("version") != NORMS_VERSION:
            raise ValueError(f"norms version {data.get('version')} is not {NORMS_VERSION}")
        return cls(
            model=str(data["model"]),
            adapter=data["adapter"],
            surprise_quantiles=tuple(float(x) for x in data["surprise_quantiles"]),
            lines=int(data["lines"]),
            files=int(data["files"]),
            naming=data["naming"],
            named_files=int(data["named_files"]),
            created=float(data["created"]),
        )


def naming_counts(files: Iterable[tuple[str, str]]) -> tuple[NamingCounts, int]:
    """Per language and kind, how many names are written in each style (names that fit
    two styles, like a single lower-case word, are not counted)."""
    counts: NamingCounts = {}
    scanned = 0
    for path, text in files:
        scanned += 1
        language = classify(path)[0]
        for site in name_sites(path, text):
            styles = styles_of(site.name)
            if len(styles) != 1 or not judged_name(site.name):
                continue
            (style,) = styles
            kinds = counts.setdefault(language, {}).setdefault(site.kind, {})
            kinds[style] = kinds.get(style, 0) + 1
    return counts, scanned


def build_norms(
    files: Iterable[tuple[str, str]],
    scorer: Scorer | None,
    *,
    model: str,
    adapter: str | None = None,
    cancel: CancelToken | None = None,
    sample_files: int = 40,
    max_chars: int = 6000,
    min_tokens: int = 3,
    progress: Callable[[Progress], None] | None = None,
) -> RepositoryNorms:
    """Naming statistics over all `files` (path, text); per-line surprise over the first
    `sample_files` of them in an order spread by path hash, each cut to its first
    `max_chars` characters (at a line end). Without a scorer only the naming is built."""
    listed = list(files)
    naming, named = naming_counts(listed)
    surprises: list[float] = []
    scored = 0
    if scorer is not None:
        token = cancel or CancelToken()
        sample = sorted(listed, key=lambda f: hashlib.sha256(f[0].encode()).digest())
        sample = sample[:sample_files]
        for i, (path, text) in enumerate(sample):
            if progress is not None:
                progress(Progress("scoring the repository's code", i, len(sample), path))
            head = _head(text, max_chars)
            if not head.strip():
                continue
            scores = score_text(scorer, head, adapter, token)
            surprises.extend(s.surprise for s in line_surprises(head, scores, min_tokens))
            scored += 1
    return RepositoryNorms(
        model=model,
        adapter=adapter,
        surprise_quantiles=quantile_table(surprises),
        lines=len(surprises),
        files=scored,
        naming=naming,
        named_files=named,
        created=time.time(),
    )


def norms_key(model: str, adapter: str | None, **settings: object) -> str:
    """The cache key: model identity, adapter and the calibration settings."""
    raw = json.dumps({"model": model, "adapter": adapter, "v": NORMS_VERSION, **settings})
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def load_norms(folder: Path, key: str) -> RepositoryNorms | None:
    path = folder / f"norms-{key}.json"
    try:
        return RepositoryNorms.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("ignoring the cached norms %s: %s", path, exc)
        return None


def save_norms(folder: Path, key: str, norms: RepositoryNorms) -> Path:
    """Written atomically (a temporary file renamed over the old one)."""
    return write_atomically(folder / f"norms-{key}.json", norms.to_json(), prefix=".norms-")


def cached_norms(
    folder: Path, key: str, build: Callable[[], RepositoryNorms], *, refresh: bool = False
) -> RepositoryNorms:
    """The norms cached under `key`, else `build()` saved there."""
    if not refresh:
        found = load_norms(folder, key)
        if found is not None:
            return found
    norms = build()
    save_norms(folder, key, norms)
    return norms


def _head(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text.rfind("\n", 0, max_chars)
    return text[: cut + 1] if cut > 0 else text[:max_chars]
