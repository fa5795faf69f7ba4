"""The repository's code as the index reads it (the files git tracks, or a walk that
honours .gitignore; the index's ignore patterns and size cap; no secret files), and its
norms, cached beside the index."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mochi.rag.config import RagConfig
from mochi.rag.paths import data_dir, index_dir
from mochi.rag.secrets import secret_filter
from mochi.rag.sources import WorkspaceSource
from mochi.rag.types import DocKind, Progress, SkipCounts
from mochi.server.assist.conventions.findings import CheckSettings
from mochi.server.assist.conventions.norms import (
    RepositoryNorms,
    build_norms,
    cached_norms,
    norms_key,
)
from mochi.server.config import DiagnosticsConfig
from mochi.server.generation.scoring import Scorer
from mochi.server.generation.types import CancelToken

NORMS_DIR = "conventions"


def code_files(root: Path, config: RagConfig, limit: int = 5000) -> list[tuple[str, str]]:
    """(workspace-relative path, text) of up to `limit` code files, in path order."""
    source = WorkspaceSource(
        root, max_file_bytes=config.index.max_file_bytes, extra_ignores=config.index.ignore
    )
    secrets = secret_filter(config.secrets)
    skips = SkipCounts()
    out: list[tuple[str, str]] = []
    for key in sorted(source.fingerprints()):
        if len(out) >= limit:
            break
        if secrets.is_secret_path(key):
            continue
        document = source.load(key, skips)
        if document is not None and document.kind is DocKind.CODE:
            out.append((key, document.text))
    return out


def norms_folder(root: Path, config: RagConfig) -> Path:
    """Where the workspace's norms are cached: beside its index (the same folder the
    index keeps its manifest in), whether or not the index was built."""
    return index_dir(data_dir(config.data_dir), root.expanduser().resolve()) / NORMS_DIR


def workspace_norms(
    root: Path,
    config: RagConfig,
    scorer: Scorer | None,
    *,
    model: str,
    adapter: str | None = None,
    cancel: CancelToken | None = None,
    sample_files: int = 40,
    min_tokens: int = 3,
    refresh: bool = False,
    progress: Callable[[Progress], None] | None = None,
) -> RepositoryNorms:
    """The workspace's norms for this model and adapter: from the cache when there, else
    built from its code files (and cached). Without a scorer: naming only, cached
    under its own key."""
    key = norms_key(
        model if scorer is not None else "",
        adapter if scorer is not None else None,
        sample_files=sample_files,
        min_tokens=min_tokens,
        scored=scorer is not None,
    )

    def build() -> RepositoryNorms:
        return build_norms(
            code_files(root, config),
            scorer,
            model=model,
            adapter=adapter,
            cancel=cancel,
            sample_files=sample_files,
            min_tokens=min_tokens,
            progress=progress,
        )

    return cached_norms(norms_folder(root, config), key, build, refresh=refresh)


def check_settings(config: DiagnosticsConfig) -> CheckSettings:
    """The check settings the `[diagnostics]` section gives."""
    return CheckSettings(
        quantile=config.quantile,
        max_findings=config.max_findings,
        min_tokens=config.min_tokens,
        naming=config.naming,
        suggest=config.suggest,
    )
