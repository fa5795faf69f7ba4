"""`MochiProtocol`: pygls' LanguageServerProtocol, answering every request exactly once.

pygls drops a request whose params it cannot structure (it only logs), ignores requests
after `shutdown`, never answers a frame it cannot parse, and sends an internal error with
the handler's traceback. Here each one gets its JSON-RPC answer: -32700 for a frame that
is not JSON (`transport` sends it), -32600 for a message that is not JSON-RPC or comes
after shutdown, -32601 for an unknown method, -32602 naming the bad field, and -32603
with a short message (the traceback goes to the log, never to the client). Each answer
is counted in the server's metrics: method, outcome and the time since the request came.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from lsprotocol.types import ErrorCodes
from pygls.protocol import LanguageServerProtocol, lsp_method

from mochi.server.lsp.envelope import Envelope, InvalidMessage, MessageId, read_envelope
from mochi.server.lsp.metrics import Outcome, ServerMetrics, outcome_of
from mochi.server.lsp.param_errors import describe_params_error

if TYPE_CHECKING:
    from collections.abc import Generator

    from cattrs import Converter
    from pygls.lsp.server import LanguageServer

log = logging.getLogger(__name__)
# How long `shutdown` lets the requests already running finish before cancelling them.
SHUTDOWN_GRACE_SECONDS = 2.0


class MochiProtocol(LanguageServerProtocol):
    def __init__(self, server: LanguageServer, converter: Converter) -> None:
        super().__init__(server, converter)
        self._methods: dict[MessageId, str] = {}  # the method of each request not answered yet
        self._arrived: dict[MessageId, float] = {}  # when each of them came (perf_counter)
        self._stopping = False  # `shutdown` received (it may still be finishing requests)
        self.metrics: ServerMetrics | None = None  # the server sets its own

    @property
    def shut_down(self) -> bool:
        """True once the client sent `shutdown` (`exit` then ends the process with 0)."""
        return bool(self._shutdown)

    @lsp_method(types.SHUTDOWN)
    def lsp_shutdown(self, *args: Any) -> Generator[Any, Any, None]:
        """New requests are refused at once; those already running get a grace period to
        finish (the client sent them before `shutdown`), then the rest are cancelled.
        pygls cancels them at once, and from a loop over the very table that cancelling
        shrinks, which fails the shutdown itself with -32603."""
        self._stopping = True
        current = self.msg_id
        if running := [
            f for i, f in self._request_futures.items() if i != current and not f.done()
        ]:
            yield self._let_finish, (running,), None
        if (user_handler := self.fm.features.get(types.SHUTDOWN)) is not None:
            yield user_handler, args, None
        for message_id, future in list(self._request_futures.items()):
            if message_id != current and not future.done():
                future.cancel()
        self._shutdown = True

    async def _let_finish(self, running: list[Any]) -> None:
        waits = [asyncio.wrap_future(f) if isinstance(f, Future) else f for f in running]
        await asyncio.wait(waits, timeout=SHUTDOWN_GRACE_SECONDS)

    def receive(self, payload: Any) -> None:
        """Handle one JSON value read from the stream."""
        arrived = time.perf_counter()
        try:
            envelope = read_envelope(payload)
        except InvalidMessage as exc:
            log.warning("invalid message: %s", exc)
            self.send_error(exc.message_id, ErrorCodes.InvalidRequest, str(exc))
            return
        stopping = self._shutdown or self._stopping
        if envelope.kind == "request" and stopping and envelope.method != types.EXIT:
            self.send_error(envelope.id, ErrorCodes.InvalidRequest, "the server is shutting down")
            self._count(envelope.method, "error", arrived)
            return
        try:
            message = self.structure_message(payload)
        except Exception as exc:  # pygls wraps the cattrs error; its cause says what is wrong
            self._unreadable(envelope, describe_params_error(exc.__cause__, payload.get("params")))
            if envelope.kind == "request":
                self._count(envelope.method, "error", arrived)
            return
        if envelope.kind == "request" and envelope.id is not None and envelope.method:
            self._methods[envelope.id] = envelope.method
            self._arrived[envelope.id] = arrived
        try:
            self.handle_message(message)
        except Exception:  # pygls answers a failing handler itself: this is pygls failing
            log.exception("cannot handle %s", envelope.method or f"the reply to {envelope.id}")

    def send_error(self, message_id: MessageId | None, code: int, message: str) -> None:
        """A JSON-RPC error response (`"id": null` when the id is unknown)."""
        if message_id is not None:
            self._methods.pop(message_id, None)
            self._arrived.pop(message_id, None)
        error = {"code": int(code), "message": message}
        self._send_data({"jsonrpc": "2.0", "id": message_id, "error": error})

    def _unreadable(self, envelope: Envelope, problem: str) -> None:
        method = envelope.method
        if envelope.kind == "request":
            if not self._has_handler(method):
                self.send_error(envelope.id, ErrorCodes.MethodNotFound, f"unknown method {method}")
            else:
                self.send_error(
                    envelope.id, ErrorCodes.InvalidParams, f"invalid params for {method}: {problem}"
                )
        elif envelope.kind == "notification":
            log.warning("dropped %s: invalid params: %s", method, problem)
        elif envelope.id is not None:  # the client's reply to a request of ours
            log.warning("unreadable reply to request %s: %s", envelope.id, problem)
            reason = types.ResponseError(ErrorCodes.InvalidRequest, f"unreadable reply: {problem}")
            self._handle_response(envelope.id, None, reason)

    def _serialize_message(self, data: Any) -> Any:
        """pygls' fallback for what `json` cannot write, made total: a result holding a
        set or a Path is sent (as a list, a string) instead of no answer at all."""
        if isinstance(data, set | frozenset):
            return sorted(data, key=str)
        try:
            return super()._serialize_message(data)
        except AttributeError:  # pygls falls back on `__dict__`
            return str(data)

    def _has_handler(self, method: str | None) -> bool:
        return method in self.fm.builtin_features or method in self.fm.features

    def _count(self, method: str | None, outcome: Outcome, arrived: float | None) -> None:
        """One answer in the metrics (a method with no handler counts as `unknown`, so a
        client cannot grow the label set)."""
        if self.metrics is None or arrived is None:
            return
        label = method if method and self._has_handler(method) else "unknown"
        self.metrics.request(label, outcome, time.perf_counter() - arrived)

    def _send_response(
        self,
        msg_id: MessageId,
        result: Any | None = None,
        error: types.ResponseError | None = None,
    ) -> None:
        """Every answer passes here: an internal error loses its traceback and exception
        text (pygls puts both in the response; the log already has them)."""
        method = self._methods.pop(msg_id, None)
        self._count(method, outcome_of(result, error), self._arrived.pop(msg_id, None))
        if error is not None and error.code == ErrorCodes.InternalError:
            error = types.ResponseError(
                ErrorCodes.InternalError,
                f"{method or 'the request'} failed inside the server (its log has the details)",
            )
        super()._send_response(msg_id, result, error)
