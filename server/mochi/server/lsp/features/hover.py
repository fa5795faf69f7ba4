"""textDocument/hover: definition, docs and usages of the symbol under the cursor."""

from __future__ import annotations

import logging

from lsprotocol import types

from mochi.server.assist.code_tasks import explain
from mochi.server.assist.code_units import CodeUnit, word_at
from mochi.server.assist.hover_info import HoverFacts, Origin, hover_facts, render_markdown
from mochi.server.completion.explanation import route_summary
from mochi.server.generation import CancelToken, Generator
from mochi.server.lsp.features.document_text import document_text
from mochi.server.lsp.server import MochiServer
from mochi.server.lsp.state import WorkspaceState

log = logging.getLogger(__name__)


def register(server: MochiServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: MochiServer, params: types.HoverParams) -> types.Hover | None:
        state = ls.state
        await state.index_ready.wait()
        index = state.index
        document = document_text(ls, params.text_document.uri)
        at = document.clamp(params.position) if document is not None else None
        if index is None or document is None or at is None:
            return None
        word = word_at(document.text, at.line, at.character)
        if word is None:
            return None
        origin = Origin(document.path, document.text, at.line)
        max_usages = state.config.hover.max_usages
        facts = await state.run_model(hover_facts, index, word, max_usages, origin)
        explanation = ""
        if state.config.hover.explain and state.generator is not None and facts.definition:
            explanation = await state.run_model(explain_definition, state.generator, facts)
        text = with_route(state, document.uri, render_markdown(facts, explanation))
        if text is None:
            return None
        log.debug("hover for %s in %s", word.name, document.path)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))


def with_route(state: WorkspaceState, uri: str, text: str | None) -> str | None:
    """`text` plus which expert served the last completion (hover.explain_route)."""
    record = state.completions.get(uri) or state.last_completion
    if not state.config.hover.explain_route or record is None:
        return text
    return f"{text}\n\n---\n\n{route_summary(record)}" if text else route_summary(record)


def explain_definition(generator: Generator, facts: HoverFacts) -> str:
    """A short model explanation of the symbol's definition (hover.explain)."""
    d = facts.definition
    assert d is not None
    unit = CodeUnit(d.kind, d.symbol, d.start_line, d.end_line, d.text, d.language)
    return explain(generator, unit, CancelToken())
