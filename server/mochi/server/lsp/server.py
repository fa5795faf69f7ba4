"""The pygls server class: a LanguageServer that carries its workspace state."""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
from typing import Any, BinaryIO

from lsprotocol import types
from pygls.exceptions import FeatureRequestError
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer

from mochi.server.lsp.metrics import ServerMetrics
from mochi.server.lsp.metrics_endpoint import MetricsEndpoint
from mochi.server.lsp.protocol import MochiProtocol
from mochi.server.lsp.services import Services
from mochi.server.lsp.state import WorkspaceState
from mochi.server.lsp.transport import CHUNK, fd_reader, pump

VERSION = "0.1.0"
log = logging.getLogger(__name__)


class MochiServer(LanguageServer):
    """A pygls LanguageServer that carries its workspace state and its metrics (no
    globals), reads its stream through `transport.pump` and answers every request
    (`MochiProtocol`, which also counts them)."""

    protocol: MochiProtocol

    def __init__(self, services: Services) -> None:
        super().__init__(
            "mochi",
            VERSION,
            protocol_cls=MochiProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.state = WorkspaceState(services)
        self.metrics = ServerMetrics(lambda: self.state.index, lambda: self.state.generator)
        self.metrics_endpoint = MetricsEndpoint(self.metrics.registry)
        self.protocol.metrics = self.metrics
        self.exit_code = 0

    def notify_user(
        self, message: str, kind: types.MessageType = types.MessageType.Warning
    ) -> None:
        """window/showMessage plus window/logMessage (never stdout: it carries the LSP)."""
        self.window_show_message(types.ShowMessageParams(type=kind, message=f"mochi: {message}"))
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def report_server_error(self, error: Exception, source: Any) -> None:
        """An error no request is waiting for (a notification handler failed): the log
        gets it (pygls logged the traceback), the user a line without Python in it."""
        if source is FeatureRequestError:
            return  # answered as that request's error
        log.error("internal error (%s): %s", getattr(source, "__name__", source), error)
        self.notify_user("internal error; the server log has the details", types.MessageType.Error)

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve on stdio until `exit` or end of input; `exit_code` is then set (0 after
        `shutdown` or at end of input, 1 for `exit` without `shutdown`)."""
        self._stop_event = stop = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        read = fd_reader((stdin or sys.stdin.buffer).fileno(), self.thread_pool)
        try:
            asyncio.run(pump(self.protocol, read, stop))
        except BrokenPipeError:
            log.error("the client closed the connection; shutting down")
        except SystemExit as exc:  # the `exit` notification
            self._exited(exc)
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()

    def _exited(self, exc: SystemExit) -> None:
        self.exit_code = exc.code if isinstance(exc.code, int) else 1

    def shutdown(self) -> None:
        self.metrics_endpoint.stop()
        super().shutdown()  # type: ignore[no-untyped-call]  # pygls is not annotated here

    def start_tcp(self, host: str, port: int) -> None:
        """Serve one client on host:port until `exit` or the end of its connection;
        `exit_code` is then set as for stdio."""
        self._stop_event = stop = threading.Event()

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.protocol.set_writer(writer)
            try:
                await pump(self.protocol, lambda: reader.read(CHUNK), stop)
            except SystemExit as exc:  # the `exit` notification
                self._exited(exc)
            finally:
                self.shutdown()  # closes the listener too: `listen` returns

        async def listen() -> None:
            self._server = await asyncio.start_server(connection, host, port)
            log.info("serving on %s:%s", host, port)
            async with self._server:
                await self._server.serve_forever()

        try:
            asyncio.run(listen())
        except asyncio.CancelledError:
            log.debug("the TCP server stopped")
