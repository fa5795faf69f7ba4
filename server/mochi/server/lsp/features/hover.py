"""textDocument/hover: definition, docs and usages of the symbol under the cursor."""

from __future__ import annotations

import logging
from pathlib import Path

from lsprotocol import types

from mochi.server.assist.code_tasks import explain
from mochi.server.assist.code_units import CodeUnit, word_at
from mochi.server.assist.hover_info import HoverFacts, hover_facts, render_markdown
from mochi.server.generation import CancelToken, Generator
from mochi.server.lsp.server import MochiServer

log = logging.getLogger(__name__)


def register(server: MochiServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: MochiServer, params: types.HoverParams) -> types.Hover | None:
        state = ls.state
        await state.index_ready.wait()
        index = state.index
        if index is None:
            return None
        document = ls.workspace.get_text_document(params.text_document.uri)
        name = word_at(document.source, params.position.line, params.position.character)
        if not name:
            return None
        facts = await state.run_model(hover_facts, index, name, state.config.hover.max_usages)
        explanation = ""
        if state.config.hover.explain and state.generator is not None and facts.definition:
            explanation = await state.run_model(explain_definition, state.generator, facts)
        text = render_markdown(facts, explanation)
        if text is None:
            return None
        log.debug("hover for %s in %s", name, Path(document.path).name)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))


def explain_definition(generator: Generator, facts: HoverFacts) -> str:
    """A short model explanation of the symbol's definition (hover.explain)."""
    d = facts.definition
    assert d is not None
    unit = CodeUnit(d.kind, d.symbol, d.start_line, d.end_line, d.text, d.language)
    return explain(generator, unit, CancelToken())
