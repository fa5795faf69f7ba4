"""The shared path of completion and inline completion: one suggestion per cursor."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict

from lsprotocol import types

from mochi.server.completion.engine import CursorRequest, Suggestion
from mochi.server.completion.explanation import CompletionRecord
from mochi.server.generation import GenerationCancelled, GenerationError
from mochi.server.lsp.features.document_text import DocumentText, document_text
from mochi.server.lsp.metrics import CompletionResult
from mochi.server.lsp.server import MochiServer

log = logging.getLogger(__name__)
MODEL_WAIT_SECONDS = 120.0


def cursor_in(
    server: MochiServer, uri: str, position: types.Position
) -> tuple[DocumentText, types.Position] | None:
    """The document and the position clamped to it; None when either is not there."""
    document = document_text(server, uri)
    at = document.clamp(position) if document is not None else None
    return (document, at) if document is not None and at is not None else None


async def suggest(
    server: MochiServer, document: DocumentText, position: types.Position, kind: str = "completion"
) -> Suggestion | None:
    """A suggestion, or None (no model, superseded, nothing to add, back end down)."""
    state, metrics = server.state, server.metrics
    if not state.config.completion.enabled:
        metrics.completion("off")
        return None
    if not state.generator_ready.is_set():
        try:  # the first request after start-up waits for the model to load
            await asyncio.wait_for(state.generator_ready.wait(), MODEL_WAIT_SECONDS)
        except TimeoutError:
            metrics.completion("unavailable")
            return None
    engine, expert_set = state.engine, state.experts.label()  # swapped together
    if engine is None:
        metrics.completion("unavailable")
        return None
    uri = document.uri
    request = CursorRequest(
        path=document.path,
        text=document.text,
        line=position.line,
        character=position.character,
        kind=kind,
    )
    token = state.supersede(uri)
    started = time.perf_counter()
    try:
        suggestion: Suggestion = await state.run_model(engine.complete, request, token)
        state.recent_timings.append(
            {
                "server_ms": 1000 * (time.perf_counter() - started),
                "adapter": suggestion.adapter,
                "expert": suggestion.route.expert,
                "route_reason": suggestion.route.reason,
                "empty": suggestion.text is None,
                **asdict(suggestion.timings),
            }
        )
        state.record_completion(
            CompletionRecord(
                uri=uri,
                path=document.path,
                line=position.line,
                character=position.character,
                adapter=suggestion.adapter,
                route=suggestion.route,
                contexts=suggestion.contexts,
                empty=suggestion.text is None,
                expert_set=expert_set,
            )
        )
        result: CompletionResult = "nothing" if suggestion.text is None else "suggested"
        metrics.completion(result, suggestion.timings)
        return suggestion if suggestion.text is not None else None
    except asyncio.CancelledError:  # $/cancelRequest: stop the model too
        token.cancel()
        metrics.completion("cancelled")
        raise
    except GenerationCancelled:  # a newer request for this document took over
        metrics.completion("superseded")
        return None
    except GenerationError as exc:
        metrics.completion("failed")
        log.warning("completion failed: %s", exc)
        server.window_log_message(
            types.LogMessageParams(type=types.MessageType.Warning, message=str(exc))
        )
        return None
    finally:
        state.finish(uri, token)
