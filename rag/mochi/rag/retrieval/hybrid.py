"""Dense + sparse retrieval with fusion, filters, ranking priors, one hit per unit and
near-duplicate removal."""

from __future__ import annotations

import fnmatch
import re
from typing import Literal

from mochi.rag.protocols import Embedder, SparseEncoder, VectorStore
from mochi.rag.retrieval.fusion import rrf_fusion, weighted_fusion
from mochi.rag.retrieval.ranking_priors import RankingPriors, is_test_path
from mochi.rag.retrieval.unit_merge import merge_units
from mochi.rag.store.schema import DENSITY_FIELD
from mochi.rag.types import Hit, ScoredId, SearchFilters, StoreFilter

Mode = Literal["hybrid", "dense", "sparse"]
_TOKEN = re.compile(r"\w+")
_ASCII_NON_WORD = str.maketrans(
    {c: " " for c in map(chr, range(128)) if not (c.isalnum() or c == "_")}
)
_CODE_HINT = re.compile(r"[A-Za-z0-9]_[A-Za-z0-9]|[a-z][A-Z]|[A-Za-z_]\(|\w\.\w|::|->|[{};=<>]")


def is_code_like(query: str) -> bool:
    """Identifiers (snake_case, camelCase), calls, attribute access, operators: the sparse
    side's exact-token matching matters more there than for questions in plain words."""
    stripped = query.strip()
    return bool(_CODE_HINT.search(stripped)) or (" " not in stripped and len(stripped) > 2)


def glob_prefix(glob: str) -> str:
    """The literal directory a glob starts with ("rag/mochi/**/*.py" -> "rag/mochi")."""
    parts: list[str] = []
    for part in glob.strip("/").split("/")[:-1]:
        if any(ch in part for ch in "*?["):
            break
        parts.append(part)
    return "/".join(parts)


def glob_matches(path: str, glob: str) -> bool:
    """fnmatch, with `**/` also matching zero directories."""
    if fnmatch.fnmatchcase(path, glob):
        return True
    return "**/" in glob and fnmatch.fnmatchcase(path, glob.replace("**/", ""))


def _shingles(text: str) -> set[str]:
    """The text's `\\w+` tokens, lower-cased; ASCII text (most code) is split without the
    regex, four times faster and the same tokens (ASCII `\\w` is [A-Za-z0-9_])."""
    lower = text.lower()
    if lower.isascii():
        return set(lower.translate(_ASCII_NON_WORD).split())
    return set(_TOKEN.findall(lower))


def _similar(a: set[str], b: set[str], threshold: float) -> bool:
    """Token Jaccard similarity |a ∩ b| / |a ∪ b| at least `threshold`. One set operation
    (|a ∪ b| = |a| + |b| − |a ∩ b|), none where the sizes alone rule it out (the index is
    at most the smaller size over the larger)."""
    small, large = sorted((len(a), len(b)))
    if not large:
        return threshold <= 1.0
    if small < threshold * large:
        return False
    common = len(a & b)
    return common / (small + large - common) >= threshold


class HybridRetriever:
    """Implements the Retriever protocol over any VectorStore."""

    def __init__(
        self,
        *,
        store: VectorStore,
        embedder: Embedder,
        sparse: SparseEncoder,
        fusion: Literal["weighted", "rrf"] = "weighted",
        dense_weight: float = 0.9,
        code_dense_weight: float = 0.5,
        rrf_k: int = 60,
        candidates: int = 100,
        dedupe_similarity: float = 0.9,
        hub_penalty: float = 0.0,
        test_penalty: float = 0.5,
        changelog_penalty: float = 0.5,
        merge_units: bool = True,
    ) -> None:
        self._store = store
        self._embedder = embedder
        self._sparse = sparse
        self._fusion = fusion
        self._alpha = dense_weight
        self._code_alpha = code_dense_weight
        self._rrf_k = rrf_k
        self._candidates = candidates
        self._dedupe = dedupe_similarity
        self._hub_penalty = hub_penalty
        self._test_penalty = test_penalty
        self._changelog_penalty = changelog_penalty
        self._merge_units = merge_units

    def ranked_ids(
        self, query: str, limit: int, where: StoreFilter | None = None, mode: Mode = "hybrid"
    ) -> list[ScoredId]:
        """Fused ids and scores before payloads are read (benchmarks use this)."""
        return self._ranked(query, limit, where, mode, {})

    def _ranked(
        self,
        query: str,
        limit: int,
        where: StoreFilter | None,
        mode: Mode,
        payloads: dict[str, dict[str, object]],
    ) -> list[ScoredId]:
        """`ranked_ids`; the payloads read on the way (the hub penalty's: whole ones, so
        that `search` reads no point twice) are added to `payloads`."""
        dense: list[ScoredId] = []
        sparse: list[ScoredId] = []
        if mode in ("hybrid", "dense"):
            dense = self._store.search_dense(self._embedder.embed_query(query), limit, where)
            if self._hub_penalty > 0:
                payloads.update(self._store.get_payloads([h.id for h in dense]))
                dense = self._penalise_hubs(dense, payloads)
        if mode in ("hybrid", "sparse"):
            vector = self._sparse.encode_query(query)
            if vector.indices:
                sparse = self._store.search_sparse(vector, limit, where)
        if mode == "dense":
            return dense
        if mode == "sparse":
            return sparse
        if self._fusion == "rrf":
            return rrf_fusion(dense, sparse, self._rrf_k)
        alpha = self._code_alpha if is_code_like(query) else self._alpha
        return weighted_fusion(dense, sparse, alpha)

    def _penalise_hubs(
        self, dense: list[ScoredId], payloads: dict[str, dict[str, object]]
    ) -> list[ScoredId]:
        """cosine − penalty · density (see mochi.rag.index.density); a chunk without a
        density yet counts as 0."""
        rescored = [
            ScoredId(h.id, h.score - self._hub_penalty * _density(payloads.get(h.id)))
            for h in dense
        ]
        return sorted(rescored, key=lambda h: (-h.score, h.id))

    def retrieve(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        return self.search(query, k, filters)

    def search(
        self, query: str, k: int = 10, filters: SearchFilters | None = None, mode: Mode = "hybrid"
    ) -> list[Hit]:
        if k <= 0 or not query.strip():
            return []
        filters = filters or SearchFilters()
        where = StoreFilter(
            languages=filters.languages,
            kinds=filters.kinds,
            sources=filters.sources,
            dir_prefix=glob_prefix(filters.path_glob) if filters.path_glob else "",
        )
        narrowed = filters.path_glob or filters.exclude_globs or filters.exclude_tests
        limit = max(self._candidates, k * (4 if narrowed else 2))
        payloads: dict[str, dict[str, object]] = {}
        ranked = self._ranked(query, limit, None if where.is_empty() else where, mode, payloads)
        missing = [h.id for h in ranked[:limit] if h.id not in payloads]
        if missing:
            payloads.update(self._store.get_payloads(missing))
        ranked = ranked[:limit]
        candidates = [
            (payloads[h.id], h.score)
            for h in ranked
            if h.id in payloads and passes_filters(str(payloads[h.id].get("path", "")), filters)
        ]
        priors = self.priors(query)
        if not priors.is_neutral:  # a stable sort: equal scores keep the fused order
            rescored = [(payload, score * priors.factor(payload)) for payload, score in candidates]
            candidates = sorted(rescored, key=lambda c: -c[1])
        return self._top_units(candidates, k)

    def priors(self, query: str) -> RankingPriors:
        """The score factors for tests and release notes this query gets."""
        return RankingPriors.for_query(
            query,
            code_like=is_code_like(query),
            test_penalty=self._test_penalty,
            changelog_penalty=self._changelog_penalty,
        )

    def _top_units(self, candidates: list[tuple[dict[str, object], float]], k: int) -> list[Hit]:
        """The best k hits, best first: a piece of a unit already kept joins it (with
        merge_units), a near-duplicate of a better hit drops. A candidate becomes a `Hit`
        only when it can still count: once k are kept, only pieces of their files can."""
        hits: list[Hit] = []
        kept_paths: set[str] = set()
        kept_shingles: list[set[str]] = []
        for payload, score in candidates:
            full = len(hits) >= k
            if full and not self._merge_units:
                break
            path = str(payload.get("path", ""))
            if full and path not in kept_paths:
                continue  # only later pieces of the hits kept can still join them
            hit = _hit(payload, score)
            if self._merge_units and path in kept_paths and merge_units(hits, hit):
                continue
            if full:
                continue
            shingles = _shingles(hit.text)
            if any(_similar(shingles, seen, self._dedupe) for seen in kept_shingles):
                continue
            kept_shingles.append(shingles)
            kept_paths.add(path)
            hits.append(hit)
        return hits


def passes_filters(path: str, filters: SearchFilters) -> bool:
    """The conditions the store cannot check itself: the glob, excluded globs, tests."""
    if filters.path_glob and not glob_matches(path, filters.path_glob):
        return False
    if any(glob_matches(path, glob) for glob in filters.exclude_globs):
        return False
    return not (filters.exclude_tests and is_test_path(path))


def _density(payload: dict[str, object] | None) -> float:
    value = (payload or {}).get(DENSITY_FIELD)
    return float(value) if isinstance(value, int | float) else 0.0


def _as_int(payload: dict[str, object], key: str) -> int:
    value = payload.get(key, 0)
    return value if isinstance(value, int) else 0


def _hit(payload: dict[str, object], score: float) -> Hit:
    return Hit(
        path=str(payload.get("path", "")),
        start_line=_as_int(payload, "start_line"),
        end_line=_as_int(payload, "end_line"),
        score=score,
        text=str(payload.get("text", "")),
        kind=str(payload.get("kind", "")),
        language=str(payload.get("language", "")),
        symbol=str(payload.get("symbol", "")),
        source=str(payload.get("source", "code")),
    )
