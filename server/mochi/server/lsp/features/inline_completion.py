"""textDocument/inlineCompletion (LSP 3.18): ghost text at the cursor."""

from __future__ import annotations

from lsprotocol import types

from mochi.server.lsp.features.cursor import suggest
from mochi.server.lsp.server import MochiServer


def register(server: MochiServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: MochiServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        suggestion = await suggest(ls, params.text_document.uri, params.position)
        if suggestion is None or suggestion.text is None:
            return types.InlineCompletionList(items=[])
        at = params.position
        return types.InlineCompletionList(
            items=[
                types.InlineCompletionItem(
                    insert_text=suggestion.text, range=types.Range(start=at, end=at)
                )
            ]
        )
