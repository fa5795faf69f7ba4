"""`mochi search` answered by the running language server that holds the index.

`mochi serve` shares its open index over a Unix socket (see `mcp/share_wire`); the
command sends its query there and prints the hits that come back, so it needs neither
the index lock nor an embedding model of its own. Only light modules are imported here:
this path must not pay for torch, the MCP SDK or the indexer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mochi.rag.paths import data_dir, index_dir
from mochi.rag.retrieval.hybrid import Mode
from mochi.rag.types import Hit, SearchFilters
from mochi.server.cli.errors import CliError
from mochi.server.mcp.share_request import ShareError, ShareRefusal, call
from mochi.server.mcp.share_search import hits_from_wire, search_params
from mochi.server.mcp.share_wire import pid_alive, read_share_file, share_path

log = logging.getLogger(__name__)
# The server may be busy indexing: it waits up to two minutes for its index thread.
SEARCH_TIMEOUT_S = 150.0


@dataclass(frozen=True, slots=True)
class ServedHits:
    hits: list[Hit]
    server_pid: int


def share_file_of(data_dir_setting: str, root: Path) -> Path:
    return share_path(index_dir(data_dir(data_dir_setting), root))


def served_hits(
    share_file: Path, root: Path, query: str, limit: int, filters: SearchFilters, mode: Mode
) -> ServedHits | None:
    """The hits from the language server sharing this index; None when none answers
    (no share file, a dead process, a socket nobody listens on, a refused token)."""
    info = read_share_file(share_file)
    if info is None or not pid_alive(info.pid):
        return None
    if Path(info.root).resolve() != root:
        log.info("the share in %s serves %s, not %s", share_file, info.root, root)
        return None
    params = search_params(query, limit, filters, mode)
    try:
        answer = call(info, "search_hits", params, SEARCH_TIMEOUT_S)
    except ShareError as exc:
        log.info("the language server's share does not answer (%s): searching here", exc)
        return None
    except ShareRefusal as refusal:
        if refusal.kind == "input":
            raise CliError(refusal.message) from None
        if refusal.kind == "bad_request":  # a server from before `search_hits`
            raise CliError(
                f"the running language server (pid {info.pid}) holds the index but cannot "
                f"answer mochi search ({refusal.message}); restart it",
                exit_code=3,
            ) from None
        raise CliError(
            f"the language server (pid {info.pid}) could not search: {refusal.message}"
        ) from None
    try:
        hits = hits_from_wire(answer)
    except ValueError as exc:
        raise CliError(f"the language server (pid {info.pid}) sent bad hits: {exc}") from None
    log.info("mochi search: answered by the language server (pid %d)", info.pid)
    return ServedHits(hits, info.pid)
