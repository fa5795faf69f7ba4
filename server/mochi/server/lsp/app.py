"""`create_server(services)`: the pygls server, built from its parts, no module globals."""

from __future__ import annotations

from mochi.server.lsp.features import (
    ask,
    code_actions,
    commands,
    completion,
    conventions,
    documents,
    explain_completion,
    hover,
    inline_completion,
    lifecycle,
    symbols,
    training,
)
from mochi.server.lsp.server import MochiServer
from mochi.server.lsp.services import Services


def create_server(services: Services) -> MochiServer:
    server = MochiServer(services)
    for feature in (
        lifecycle,
        documents,
        conventions,
        completion,
        inline_completion,
        hover,
        code_actions,
        commands,
        explain_completion,
        ask,
        symbols,
        training,
    ):
        feature.register(server)
    return server
