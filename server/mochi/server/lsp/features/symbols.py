"""workspace/symbol: semantic search over the index."""

from __future__ import annotations

from lsprotocol import types

from mochi.server.lsp.features.commands import hit_location
from mochi.server.lsp.features.document_text import without_surrogates
from mochi.server.lsp.server import MochiServer

_KINDS = {
    "function": types.SymbolKind.Function,
    "method": types.SymbolKind.Method,
    "class": types.SymbolKind.Class,
    "section": types.SymbolKind.String,
    "module": types.SymbolKind.Module,
}


def register(server: MochiServer) -> None:
    @server.feature(types.WORKSPACE_SYMBOL)
    async def workspace_symbol(
        ls: MochiServer, params: types.WorkspaceSymbolParams
    ) -> list[types.SymbolInformation]:
        index = ls.state.index
        query = without_surrogates(params.query)
        if index is None or not query.strip():
            return []
        hits = await ls.state.run_index(index.search, query, 20)
        return [
            types.SymbolInformation(
                name=h.symbol or h.path,
                kind=_KINDS.get(h.kind, types.SymbolKind.Object),
                location=hit_location(ls.state.root, h),
                container_name=h.path,
            )
            for h in hits
            if h.source != "commit"
        ]
