"""textDocument/completion: the model's suggestion as one completion item."""

from __future__ import annotations

import re

from lsprotocol import types

from mochi.server.lsp.features.cursor import cursor_in, suggest
from mochi.server.lsp.server import MochiServer

_WORD_TAIL = re.compile(r"[A-Za-z0-9_]*$")


def register(server: MochiServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=[".", "(", " "]),
    )
    async def completion(ls: MochiServer, params: types.CompletionParams) -> types.CompletionList:
        found = cursor_in(ls, params.text_document.uri, params.position)
        suggestion = await suggest(ls, *found) if found is not None else None
        if found is None or suggestion is None or suggestion.text is None:
            return types.CompletionList(is_incomplete=True, items=[])
        document, at = found
        typed = _WORD_TAIL.search(document.lines[at.line][: at.character])
        word = typed.group() if typed else ""
        start = types.Position(at.line, at.character - len(word))
        first_line = suggestion.text.split("\n", 1)[0]
        return types.CompletionList(
            is_incomplete=True,  # ask again as the user types
            items=[
                types.CompletionItem(
                    label=(word + first_line).strip() or first_line,
                    kind=types.CompletionItemKind.Snippet,
                    detail="mochi" + (f" ({suggestion.adapter})" if suggestion.adapter else ""),
                    filter_text=word + suggestion.text,
                    sort_text="0",
                    text_edit=types.TextEdit(
                        range=types.Range(start=start, end=at),
                        new_text=word + suggestion.text,
                    ),
                )
            ],
        )
