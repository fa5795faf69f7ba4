"""Document sync beyond pygls' built-ins: a save re-indexes, and the features that follow
documents (`state.document_listeners`) hear of every open, change, save and close."""

from __future__ import annotations

import logging

from lsprotocol import types

from mochi.server.lsp.features.lifecycle import sync_index
from mochi.server.lsp.server import MochiServer

log = logging.getLogger(__name__)


def tell_listeners(ls: MochiServer, event: str, uri: str) -> None:
    for listener in ls.state.document_listeners:
        try:
            listener(event, uri)
        except Exception:
            log.exception("a document listener failed on %s", event)


def register(server: MochiServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: MochiServer, params: types.DidOpenTextDocumentParams) -> None:
        tell_listeners(ls, "open", params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: MochiServer, params: types.DidChangeTextDocumentParams) -> None:
        tell_listeners(ls, "change", params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: MochiServer, params: types.DidCloseTextDocumentParams) -> None:
        tell_listeners(ls, "close", params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    async def did_save(ls: MochiServer, params: types.DidSaveTextDocumentParams) -> None:
        tell_listeners(ls, "save", params.text_document.uri)
        if ls.state.index is None:
            return
        try:
            await sync_index(ls, "mochi: re-indexing")
        except Exception:
            log.exception("re-index after save failed")
