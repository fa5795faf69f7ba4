"""Document sync beyond pygls' built-ins: a save re-indexes."""

from __future__ import annotations

import logging

from lsprotocol import types

from mochi.server.lsp.features.lifecycle import sync_index
from mochi.server.lsp.server import MochiServer

log = logging.getLogger(__name__)


def register(server: MochiServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    async def did_save(ls: MochiServer, params: types.DidSaveTextDocumentParams) -> None:
        if ls.state.index is None:
            return
        try:
            await sync_index(ls, "mochi: re-indexing")
        except Exception:
            log.exception("re-index after save failed")
