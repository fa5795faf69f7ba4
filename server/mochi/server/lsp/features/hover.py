"""textDocument/hover: definition, docs and usages of the symbol under the cursor."""

from __future__ import annotations

import logging
from pathlib import Path

from lsprotocol import types

from mochi.server.assist.code_units import word_at
from mochi.server.assist.hover_info import hover_facts, render_markdown
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
        text = render_markdown(facts)
        if text is None:
            return None
        log.debug("hover for %s in %s", name, Path(document.path).name)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))
