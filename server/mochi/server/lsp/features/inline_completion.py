"""textDocument/inlineCompletion (LSP 3.18): ghost text at the cursor."""

from __future__ import annotations

from lsprotocol import types

from mochi.server.lsp.features.cursor import cursor_in, suggest
from mochi.server.lsp.server import MochiServer


def register(server: MochiServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(
        ls: MochiServer, params: types.InlineCompletionParams
    ) -> types.InlineCompletionList | None:
        found = cursor_in(ls, params.text_document.uri, params.position)
        if found is None:
            return types.InlineCompletionList(items=[])
        document, at = found
        suggestion = await suggest(ls, document, at, "inline")
        if suggestion is None or suggestion.text is None:
            return types.InlineCompletionList(items=[])
        return types.InlineCompletionList(
            items=[
                types.InlineCompletionItem(
                    insert_text=suggestion.text, range=types.Range(start=at, end=at)
                )
            ]
        )
