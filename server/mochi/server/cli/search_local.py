"""`mochi search` in this process: the index opened for queries only (no indexer, no
reranker, no generator), the embedding model loaded once the index is known to exist."""

from __future__ import annotations

from pathlib import Path

from mochi.rag.config import ConfigError
from mochi.rag.embedding.dense import EmbeddingModelError
from mochi.rag.index.lock import IndexLockedError
from mochi.rag.index.search_index import IndexNotReadyError, open_search_index
from mochi.rag.protocols import Embedder
from mochi.rag.retrieval.hybrid import Mode
from mochi.rag.store.errors import StoreError
from mochi.rag.types import Hit, SearchFilters
from mochi.server.cli.errors import CliError
from mochi.server.config import MochiConfig


def local_hits(
    config: MochiConfig,
    root: Path,
    query: str,
    limit: int,
    filters: SearchFilters,
    mode: Mode,
    *,
    shared: bool,
) -> list[Hit]:
    """Search the index of `root` here. `shared`: a share file was there but nobody
    answered on it (said in the error when the index turns out to be locked)."""
    try:
        with open_search_index(root, config, lambda: _embedder(config)) as index:
            return index.search(query, limit, filters, mode)
    except IndexLockedError:
        raise CliError(locked_message(root, config, shared=shared), exit_code=3) from None
    except IndexNotReadyError as exc:
        raise CliError(f"{exc}: run `mochi index {root}`") from None
    except EmbeddingModelError as exc:
        raise CliError(str(exc)) from None
    except ConfigError as exc:
        raise CliError(f"bad configuration: {exc}") from None
    except StoreError as exc:
        raise CliError(str(exc)) from None


def locked_message(root: Path, config: MochiConfig, *, shared: bool) -> str:
    from mochi.rag.paths import data_dir, index_dir

    lock = index_dir(data_dir(config.data_dir), root) / "lock"
    try:
        holder = lock.read_text(encoding="utf-8").strip() or "unknown"
    except OSError:
        holder = "unknown"
    why = (
        "its index share does not answer"
        if shared
        else "it does not share the index (`[server] share_index = true` makes a language "
        "server answer mochi search)"
    )
    return (
        f"the index of {root} is held by another mochi process (pid {holder}) and {why}; "
        "stop that process, or wait for it to finish, and try again"
    )


def _embedder(config: MochiConfig) -> Embedder:
    from mochi.rag.index.workspace import build_embedder

    return build_embedder(config)
