"""Malformed input never makes `mochi serve` deaf, and every request gets one answer.

The real server over stdio, as editors start it (a real git repository, the tiny random
Llama: the model is not under test). Broken frames of each kind are each followed by a
valid request that must be answered; then every request method the server registers
gets random params built from lsprotocol's classes (wrong types, missing fields,
negative and huge numbers, nulls, lone surrogates): each request gets exactly one
response with its id, a result or an error with a JSON-RPC/LSP code and a message with
no Python traceback in it, and valid requests are still answered afterwards.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import attrs
import pytest
from lsp_fixtures import MAIN_PY, build_repo
from lsprotocol import types
from random_params import RandomParams
from raw_lsp import Message, RawLspServer, frame, request

from mochi.server.lsp import create_server, default_services

pytestmark = pytest.mark.slow

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602
ANSWER_CODES = {-32700, -32600, -32601, -32602, -32603, -32800, -32803}
SEED = 20240611
PER_METHOD = 40
# Lifecycle requests change the session itself; their own tests are elsewhere.
NOT_FUZZED = {types.INITIALIZE, types.SHUTDOWN}
NOTIFICATIONS = [
    types.TEXT_DOCUMENT_DID_OPEN,
    types.TEXT_DOCUMENT_DID_CHANGE,
    types.TEXT_DOCUMENT_DID_SAVE,
    types.TEXT_DOCUMENT_DID_CLOSE,
    types.CANCEL_REQUEST,
    types.WINDOW_WORK_DONE_PROGRESS_CANCEL,
    types.SET_TRACE,
]


def status_call() -> dict[str, Any]:
    return {"method": "workspace/executeCommand", "params": {"command": "mochi.status"}}


def status(request_id: int | str) -> Message:
    return request(request_id, **status_call())


def framed(body: bytes, head: bytes = b"Content-Length: %d\r\n\r\n") -> bytes:
    return (head % len(body) if b"%d" in head else head) + body


PYTHON_LOCATION = re.compile(r'File "[^"]*", line \d+')


def clean(message: Message) -> bool:
    """What a client may show: no traceback, no Python source location."""
    text = json.dumps(message, ensure_ascii=False)
    return "Traceback" not in text and not PYTHON_LOCATION.search(text.replace('\\"', '"'))


@dataclass
class Session:
    lsp: RawLspServer
    uri: str  # an open document of the workspace


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[Session]:
    root = tmp_path_factory.mktemp("fuzz")
    repo = build_repo(root / "ws")
    lsp = RawLspServer(ENV)
    options = {
        "dataDir": str(root / "data"),
        "model": {"name": str(tiny_model_dir), "dtype": "float32"},
    }
    capabilities = {"window": {"workDoneProgress": True, "showDocument": {"support": True}}}
    init = {"processId": None, "rootUri": repo.root.as_uri(), "capabilities": capabilities}
    reply = lsp.call(0, "initialize", {**init, "initializationOptions": options})
    assert "result" in reply, reply
    lsp.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    uri = (repo.root / "app/main.py").as_uri()
    item = {"uri": uri, "languageId": "python", "version": 1, "text": MAIN_PY}
    lsp.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": item}})
    deadline, attempt, state = time.monotonic() + 180, 0, {}
    while time.monotonic() < deadline:  # start-up: index the repository, load the model
        attempt += 1
        state = lsp.call(f"ready-{attempt}", **status_call()).get("result") or {}
        if state.get("model") and (state.get("index") or {}).get("chunks", 0) > 0:
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the server did not get ready: {state}")
    yield Session(lsp, uri)
    lsp.close()


BODY = json.dumps(status("unused")).encode()
UNPARSED = (PARSE_ERROR, None)  # -32700 with id null: the frame's id cannot be known


def with_length(length: int) -> bytes:
    return b"Content-Length: %d\r\n\r\n%s" % (length, BODY)


# name: (bytes sent before a valid request, the error it gets: (code, id) or None)
MALFORMED: dict[str, tuple[bytes, tuple[int, Any] | None]] = {
    "lower-case header": (framed(BODY, b"content-length: %d\r\n\r\n"), None),
    "LF-only line ends": (framed(BODY, b"Content-Length: %d\n\n"), None),
    "Content-Type first": (framed(BODY, b"Content-Type: x\r\nContent-Length: %d\r\n\r\n"), None),
    "non-numeric length": (framed(BODY, b"Content-Length: many\r\n\r\n"), UNPARSED),
    "negative length": (framed(BODY, b"Content-Length: -3\r\n\r\n"), UNPARSED),
    "no length": (framed(BODY, b"Content-Type: x\r\n\r\n"), UNPARSED),
    "no header": (BODY, UNPARSED),
    "length too long": (with_length(len(BODY) + 9), UNPARSED),
    "length far too long": (with_length(999_999_999), UNPARSED),
    "length too short": (with_length(len(BODY) - 9), UNPARSED),
    "body not JSON": (framed(b'{"jsonrpc": "2.0", "id": 3,'), UNPARSED),
    "body not UTF-8": (framed(b'{"a": "\xff\xfe"}'), UNPARSED),
    "a batch": (framed(b"[" + BODY + b"]"), (INVALID_REQUEST, None)),
    "a number": (framed(b"42"), (INVALID_REQUEST, None)),
    "no jsonrpc": (frame({"id": "v1", "method": "workspace/symbol"}), (INVALID_REQUEST, "v1")),
    "id an object": (frame({**status(0), "id": {"x": 1}}), (INVALID_REQUEST, None)),
    "method a number": (frame({**status("m7"), "method": 7}), (INVALID_REQUEST, "m7")),
    "unknown method": (frame(request("u1", "mochi/noSuchThing", {})), (-32601, "u1")),
    "params not an object": (
        frame(request("p1", "textDocument/hover", [1])),
        (INVALID_PARAMS, "p1"),
    ),
}


@pytest.mark.parametrize("case", MALFORMED, ids=MALFORMED)
def test_a_malformed_message_is_answered_and_the_next_request_too(
    session: Session, case: str
) -> None:
    server = session.lsp
    data, expected = MALFORMED[case]
    before = len(server.messages)
    server.send_bytes(data + frame(status(f"after {case}")))
    reply = server.reply(f"after {case}")
    assert "result" in reply and reply["result"]["workspace"], reply
    errors = [m for m in server.messages[before:] if "error" in m and m["id"] != f"after {case}"]
    got = [(m["error"]["code"], m["id"]) for m in errors]
    assert got == ([expected] if expected else []), errors
    assert all(clean(m) and m["error"]["message"] for m in errors), errors


def test_invalid_params_are_answered_naming_the_field(session: Session) -> None:
    server, position, doc = session.lsp, {"line": -1, "character": 0}, {"uri": session.uri}
    hover = server.call("h-1", "textDocument/hover", {"textDocument": doc, "position": position})
    assert hover["error"]["code"] == INVALID_PARAMS
    assert "position.line" in hover["error"]["message"], hover
    inline = server.call(
        "i-1",
        "textDocument/inlineCompletion",
        {"textDocument": doc, "position": position | {"line": 0}},
    )
    assert inline["error"]["code"] == INVALID_PARAMS and "context" in inline["error"]["message"]
    missing = server.call("c-1", "textDocument/completion")
    assert missing["error"]["code"] == INVALID_PARAMS, missing
    wrong = server.call("c-2", "textDocument/completion", {"textDocument": 3, "position": position})
    assert "textDocument" in wrong["error"]["message"], wrong
    for reply in (hover, inline, missing, wrong):
        assert clean(reply) and "Error" not in reply["error"]["message"], reply


def registered() -> tuple[list[str], list[str]]:
    """The requests the server has a handler for (its features and pygls' own), and its
    commands."""
    features = create_server(default_services()).protocol.fm
    names = {*features.features, *features.builtin_features} - NOT_FUZZED
    requests = [
        name
        for name in sorted(names)
        if name in types.METHOD_TO_TYPES
        and "id" in attrs.fields_dict(types.METHOD_TO_TYPES[name][0])
    ]
    return requests, sorted(features.commands)


def test_every_request_with_random_params_gets_one_clean_answer(session: Session) -> None:
    methods, commands = registered()
    assert {"textDocument/completion", "textDocument/hover", "codeAction/resolve"} <= set(methods)
    server, uri = session.lsp, session.uri
    uris = [uri, uri, "file:///no/such/file.py", "untitled:Untitled-1"]
    fuzz = RandomParams(SEED, uris)
    typed = RandomParams.valid(SEED + 1, uris)  # these reach the handlers
    sent: dict[str, str] = {}
    for i in range(PER_METHOD):
        for method in methods:
            params = (typed if i % 2 else fuzz).params(types.METHOD_TO_TYPES[method][2])
            if method == types.WORKSPACE_EXECUTE_COMMAND and isinstance(params, dict):
                params["command"] = fuzz.rng.choice([*commands, *commands, "nope"])
            request_id = f"fuzz-{i}-{method}"
            sent[request_id] = method
            server.send(request(request_id, method, params))
        notification = fuzz.rng.choice(NOTIFICATIONS)
        params = fuzz.params(types.METHOD_TO_TYPES[notification][2])
        server.send({"jsonrpc": "2.0", "method": notification, "params": params})
    for request_id in sent:
        server.reply(request_id, timeout=120)
    answers = Counter(m.get("id") for m in server.responses())
    assert all(answers[request_id] == 1 for request_id in sent), [
        (request_id, answers[request_id]) for request_id in sent if answers[request_id] != 1
    ]
    replies = [m for m in server.responses() if m.get("id") in sent]
    bad = [m for m in replies if ("result" in m) == ("error" in m)]
    bad += [m for m in replies if "error" in m and m["error"]["code"] not in ANSWER_CODES]
    bad += [m for m in replies if not clean(m)]
    assert not bad, bad[:5]
    shown = [m for m in server.messages if m.get("method", "").startswith("window/")]
    assert all(clean(m) for m in shown), [m for m in shown if not clean(m)][:5]
    print_outcomes(replies, sent)
    # ... and valid requests are still answered.
    at = {"textDocument": {"uri": uri}, "position": {"line": 4, "character": 8}}
    assert "result" in server.call("after-hover", "textDocument/hover", at)
    assert "result" in server.call("after-completion", "textDocument/completion", at)
    assert server.stray is None, server.stray


def print_outcomes(replies: list[Message], sent: dict[str, str]) -> None:
    """What the fuzz found, per method (shown with -s; internal errors are listed)."""
    outcomes = Counter(
        (sent[m["id"]], m["error"]["code"] if "error" in m else "result") for m in replies
    )
    for (method, outcome), count in sorted(outcomes.items(), key=str):
        print(f"{method:40} {outcome!s:>8} {count}")
    for m in replies:
        if "error" in m and m["error"]["code"] == -32603:
            print("internal error:", sent[m["id"]], m["error"]["message"])
