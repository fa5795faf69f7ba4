"""workspace/executeCommand: the `mochi.*` commands."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams
from pygls.uris import from_fs_path

from mochi.rag.paths import data_dir
from mochi.server.assist import code_tasks
from mochi.server.assist.code_units import unit_at
from mochi.server.generation import CancelToken, GenerationError
from mochi.server.lsp.features.document_text import require_document, without_surrogates
from mochi.server.lsp.features.lifecycle import sync_index
from mochi.server.lsp.features.search_filters import search_filters
from mochi.server.lsp.progress import run_with_progress
from mochi.server.lsp.server import MochiServer

if TYPE_CHECKING:
    from mochi.rag.types import Hit

log = logging.getLogger(__name__)


def _arg(args: tuple[Any, ...], i: int, kind: type, name: str, default: Any = None) -> Any:
    if i >= len(args):
        if default is not None:
            return default
        raise JsonRpcInvalidParams(f"missing argument {i + 1}: {name} ({kind.__name__})")
    value = args[i]
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise JsonRpcInvalidParams(f"argument {i + 1} ({name}) must be {kind.__name__}")
    return without_surrogates(value) if isinstance(value, str) else value


def hit_location(root: Path | None, hit: Hit) -> types.Location:
    path = root / hit.path if root is not None else Path(hit.path)
    uri = from_fs_path(str(path)) or hit.path
    start = types.Position(max(0, hit.start_line - 1), 0)
    end = types.Position(max(0, hit.end_line - 1), 0)
    return types.Location(uri=uri, range=types.Range(start, end))


def _adapters(ls: MochiServer) -> list[str]:
    """The back end's adapters; [] when it has none or cannot be reached."""
    if ls.state.generator is None:
        return []
    try:
        return ls.state.generator.adapters()
    except GenerationError as exc:
        log.warning("cannot list adapters: %s", exc)
        return []


def _require_index(ls: MochiServer) -> Any:
    if ls.state.index is None:
        raise JsonRpcInvalidParams(
            f"the index is unavailable: {ls.state.index_error or 'starting'}"
        )
    return ls.state.index


def _memory_tokens(ls: MochiServer) -> int:
    """Tokens in the token memory the generator decodes with (0: none)."""
    generator = ls.state.generator
    if generator is None:
        return 0
    return int(generator.health().extra.get("memory_tokens", "0"))


def register(server: MochiServer) -> None:
    @server.command("mochi.reindex")
    async def reindex(ls: MochiServer, *args: Any) -> dict[str, Any]:
        await ls.state.index_ready.wait()
        _require_index(ls)
        report = await sync_index(ls, "mochi: re-indexing")
        return asdict(report) if report is not None else {}

    @server.command("mochi.search")
    async def search(ls: MochiServer, *args: Any) -> list[types.Location]:
        query = _arg(args, 0, str, "query")
        k = _arg(args, 1, int, "k", 10)
        filters = search_filters(_arg(args, 2, dict, "filters", {}))
        await ls.state.index_ready.wait()
        index = _require_index(ls)
        hits = await ls.state.run_index(index.search, query, k, filters)
        return [hit_location(ls.state.root, h) for h in hits if h.source != "commit"]

    @server.command("mochi.status")
    async def status(ls: MochiServer, *args: Any) -> dict[str, Any]:
        """Never fails: a back end that is down shows up as its health, not as an error."""
        state = ls.state
        info = state.generator.info() if state.generator is not None else None
        trainer = await asyncio.to_thread(state.trainer.state)  # may ask the daemon (HTTP)
        index = asdict(state.index.status()) if state.index is not None else None
        return {
            "workspace": str(state.root) if state.root else None,
            "index": index,
            "indexError": state.index_error or None,
            "model": info.model_id if info else None,
            "backend": info.backend if info else state.config.model.backend,
            "modelError": state.generator_error or None,
            # the model's load is over (loaded with its experts, or failed: modelError)
            "modelReady": state.generator_ready.is_set(),
            "modelHealth": state.generator.health().state.value if state.generator else None,
            "memoryTokens": _memory_tokens(ls),
            "adapters": _adapters(ls),
            "expert": state.router.selected(),
            "expertSet": state.experts.describe(),  # the set and version in service
            "trainer": trainer.value,
            "trainerUrl": state.config.trainer.url or None,
        }

    @server.command("mochi.timings")
    async def timings(ls: MochiServer, *args: Any) -> list[dict[str, Any]]:
        """Timings of recent completions (diagnostics; used by scripts/bench_latency.py)."""
        return list(ls.state.recent_timings)

    @server.command("mochi.metrics")
    async def metrics(ls: MochiServer, *args: Any) -> str:
        """The Prometheus text exposition (what `server.metrics_port` serves), read off
        the event loop (the index counts are read from its database)."""
        body = await asyncio.to_thread(ls.metrics.render)
        return body.decode("utf-8")

    @server.command("mochi.selectExpert")
    async def select_expert(ls: MochiServer, *args: Any) -> str | None:
        name = args[0] if args else None
        if name is not None and not isinstance(name, str):
            raise JsonRpcInvalidParams("argument 1 (expert) must be a string or null")
        available = _adapters(ls)
        if name and name not in available:
            raise JsonRpcInvalidParams(f"unknown expert {name!r}; available: {available}")
        ls.state.router.select(name or None)
        return name or None

    @server.command("mochi.findSimilar")
    async def find_similar(ls: MochiServer, *args: Any) -> list[types.Location]:
        uri, line = _arg(args, 0, str, "uri"), _arg(args, 1, int, "line")
        index = _require_index(ls)
        document = require_document(ls, uri)
        path = document.path
        unit = unit_at(path, document.text, line)
        if unit is None:
            return []
        hits = await ls.state.run_index(index.search, unit.text, 8)
        return [
            hit_location(ls.state.root, h)
            for h in hits
            if h.source == "code" and not (h.path == path and h.start_line == unit.start_line)
        ]

    @server.command("mochi.explain")
    async def explain(ls: MochiServer, *args: Any) -> str:
        uri, line = _arg(args, 0, str, "uri"), _arg(args, 1, int, "line")
        generator = ls.state.generator
        if generator is None:
            raise JsonRpcInvalidParams(f"no model: {ls.state.generator_error or 'starting'}")
        document = require_document(ls, uri)
        path = document.path
        unit = unit_at(path, document.text, line)
        if unit is None:
            raise JsonRpcInvalidParams("no function or class at that line")
        cancel = CancelToken()

        def work(report: Any, should_cancel: Any) -> str:
            return code_tasks.explain(generator, unit, cancel)

        text: str = await run_with_progress(ls, "mochi: explaining", work, ls.state.run_model)
        target = data_dir(ls.state.config.data_dir) / "explanations" / f"{unit.name}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"# `{unit.symbol}` ({path}:{unit.start_line})\n\n{text}\n")
        shown = from_fs_path(str(target))
        if shown is not None:
            await ls.window_show_document_async(
                types.ShowDocumentParams(uri=shown, take_focus=False)
            )
        return text
