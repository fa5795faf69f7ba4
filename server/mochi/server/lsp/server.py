"""The pygls server class: a LanguageServer that carries its workspace state."""

from __future__ import annotations

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from mochi.server.lsp.services import Services
from mochi.server.lsp.state import WorkspaceState

VERSION = "0.1.0"


class MochiServer(LanguageServer):
    """A pygls LanguageServer that carries its workspace state (no globals)."""

    def __init__(self, services: Services) -> None:
        super().__init__(
            "mochi", VERSION, text_document_sync_kind=types.TextDocumentSyncKind.Incremental
        )
        self.state = WorkspaceState(services)

    def notify_user(
        self, message: str, kind: types.MessageType = types.MessageType.Warning
    ) -> None:
        """window/showMessage plus window/logMessage (never stdout: it carries the LSP)."""
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"mochi: {message}"))
        self.window_log_message(types.LogMessageParams(type=kind, message=message))
