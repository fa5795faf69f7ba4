"""MochiProtocol answers every request exactly once, with the JSON-RPC code the case
calls for and a message a client may show: the real server class (its features are
registered as `mochi serve` registers them), fed decoded messages, its answers read
from the writer it was given."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsp_wire import offline_server, wire
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from mochi.server.lsp import protocol
from mochi.server.lsp.server import MochiServer


@pytest.fixture
def server() -> MochiServer:
    server = offline_server()

    @server.feature("mochi/boom")
    def boom(ls: MochiServer, params: Any) -> None:
        raise KeyError("internal detail")

    @server.feature("mochi/oddResult")
    def odd_result(ls: MochiServer, params: Any) -> dict[str, Any]:
        return {"path": Path("/tmp/x"), "tags": {"b", "a"}}

    @server.feature("mochi/boomNotification")
    def boom_notification(ls: MochiServer, params: Any) -> None:
        raise ValueError("internal detail")

    return server


def rpc(message_id: Any, method: str, params: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": message_id, "method": method, "params": params}


HOVER_AT = {"textDocument": {"uri": "file:///a.py"}, "position": {"line": 0, "character": 0}}


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({**HOVER_AT, "position": {"line": -1, "character": 0}}, "position.line: should be in"),
        ({**HOVER_AT, "position": {"line": 0, "character": 2**31}}, "position.character"),
        ({**HOVER_AT, "position": {"line": "x", "character": 0}}, "position.line: expected an"),
        ({"position": HOVER_AT["position"]}, "textDocument: required field missing"),
        ({**HOVER_AT, "textDocument": 3}, "textDocument.uri: expected a string"),
        (None, "params: expected an object"),
        ([1, 2], "params: expected an object"),
    ],
)
def test_invalid_params_get_32602_naming_the_field(
    server: MochiServer, params: Any, named: str
) -> None:
    server.protocol.receive(rpc(7, "textDocument/hover", params))
    error = wire(server).answer(7)["error"]
    assert error["code"] == -32602
    assert error["message"].startswith("invalid params for textDocument/hover: ")
    assert named in error["message"], error
    for python in ("Error", "Traceback", "HoverParams", "<class", "typing", "_"):
        assert python not in error["message"], error


def test_inline_completion_without_context_names_context(server: MochiServer) -> None:
    server.protocol.receive(rpc("a", "textDocument/inlineCompletion", HOVER_AT))
    assert "context: required field missing" in wire(server).answer("a")["error"]["message"]


@pytest.mark.parametrize(
    ("payload", "answer"),
    [
        ([rpc(1, "shutdown")], (-32600, None)),
        (3, (-32600, None)),
        ({"id": 4, "method": "shutdown"}, (-32600, 4)),
        ({"jsonrpc": "1.0", "id": "x", "method": "shutdown"}, (-32600, "x")),
        ({"jsonrpc": "2.0", "id": [1], "method": "shutdown"}, (-32600, None)),
        ({"jsonrpc": "2.0", "id": True, "method": "shutdown"}, (-32600, None)),
        ({"jsonrpc": "2.0", "id": 1.5, "method": "shutdown"}, (-32600, None)),
        ({"jsonrpc": "2.0", "id": 5, "method": None}, (-32600, 5)),
        ({"jsonrpc": "2.0", "id": 6, "method": "shutdown", "result": 1}, (-32600, 6)),
        ({"jsonrpc": "2.0", "params": {}}, (-32600, None)),
        ({"jsonrpc": "2.0", "id": 8}, (-32600, None)),
        (rpc(9, "mochi/noSuchMethod", {"a": 1}), (-32601, 9)),
        (rpc(10, "textDocument/definition", "bad params"), (-32601, 10)),
    ],
)
def test_a_message_that_is_not_json_rpc_gets_one_error(
    server: MochiServer, payload: Any, answer: tuple[int, Any]
) -> None:
    server.protocol.receive(payload)
    (message,) = wire(server).messages()
    assert (message["error"]["code"], message["id"]) == answer, message
    assert message["error"]["message"] and "Traceback" not in message["error"]["message"]


def test_an_internal_error_reaches_the_client_without_python(server: MochiServer) -> None:
    server.protocol.receive(rpc(11, "mochi/boom", {}))
    error = wire(server).answer(11)["error"]
    assert error == {
        "code": -32603,
        "message": "mochi/boom failed inside the server (its log has the details)",
    }


def test_a_failing_notification_is_shown_without_python(server: MochiServer) -> None:
    server.protocol.receive({"jsonrpc": "2.0", "method": "mochi/boomNotification", "params": {}})
    shown = [m["params"]["message"] for m in wire(server).messages()]
    assert shown and all("internal error" in s for s in shown), shown
    assert not any("ValueError" in s or "internal detail" in s for s in shown), shown


def test_a_result_json_cannot_write_is_still_sent(server: MochiServer) -> None:
    server.protocol.receive(rpc(12, "mochi/oddResult", {}))
    assert wire(server).answer(12)["result"] == {"path": "/tmp/x", "tags": ["a", "b"]}


def test_a_notification_with_bad_params_is_dropped_quietly(server: MochiServer) -> None:
    server.protocol.receive({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": 3})
    assert wire(server).messages() == []


def test_requests_after_shutdown_get_32600(server: MochiServer) -> None:
    server.protocol.receive(rpc(1, "shutdown"))
    assert wire(server).answer(1)["result"] is None
    server.protocol.receive(rpc(2, "textDocument/hover", HOVER_AT))
    server.protocol.receive(rpc(3, "textDocument/hover", "never structured"))
    for message_id in (2, 3):
        error = wire(server).answer(message_id)["error"]
        assert error == {"code": -32600, "message": "the server is shutting down"}
    assert server.protocol.shut_down


def test_an_unreadable_reply_fails_the_request_that_waits_for_it(server: MochiServer) -> None:
    params = types.ShowDocumentParams(uri="file:///a.py")
    waiting = server.protocol.send_request(types.WINDOW_SHOW_DOCUMENT, params)
    (sent,) = wire(server).messages()
    server.protocol.receive({"jsonrpc": "2.0", "id": sent["id"], "result": "not an object"})
    error = waiting.exception(timeout=1)
    assert isinstance(error, JsonRpcException) and "unreadable reply" in error.message


def test_shutdown_lets_running_requests_finish_and_cancels_the_stuck_ones(
    server: MochiServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(protocol, "SHUTDOWN_GRACE_SECONDS", 0.5)

    @server.command("mochi.test.quick")
    async def quick(ls: MochiServer, *args: Any) -> str:
        await asyncio.sleep(0.05)
        return "done"

    @server.command("mochi.test.stuck")
    async def stuck(ls: MochiServer, *args: Any) -> None:
        await asyncio.Event().wait()

    async def session() -> None:
        for message_id, name in ((1, "mochi.test.quick"), (2, "mochi.test.stuck")):
            server.protocol.receive(rpc(message_id, "workspace/executeCommand", {"command": name}))
        server.protocol.receive(rpc(3, "shutdown"))  # in the same read as the two above
        server.protocol.receive(rpc(4, "textDocument/hover", HOVER_AT))
        for _ in range(100):
            if any(m.get("id") == 3 for m in wire(server).messages()):
                return
            await asyncio.sleep(0.05)

    asyncio.run(session())
    answers = wire(server)
    assert answers.answer(1)["result"] == "done"
    assert answers.answer(2)["error"]["code"] == -32800
    assert answers.answer(3)["result"] is None
    assert answers.answer(4)["error"] == {"code": -32600, "message": "the server is shutting down"}
    assert server.protocol.shut_down
