"""The language server: `create_server(services)` and one module per LSP feature."""

from mochi.server.lsp.app import create_server
from mochi.server.lsp.server import MochiServer
from mochi.server.lsp.services import Services, default_services

__all__ = ["MochiServer", "Services", "create_server", "default_services"]
