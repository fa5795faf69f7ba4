"""The index share between a language server and `mochi mcp`, on its own: the endpoint
over a stand-in backend, the share file, the token, and the client that forwards calls."""

from __future__ import annotations

import json
import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mochi.server.mcp.backend import Mode, ToolUnavailable
from mochi.server.mcp.conventions import ConventionReport, Finding
from mochi.server.mcp.ranking import CandidateScore, Ranking
from mochi.server.mcp.share_client import SharedBackend, ShareError, find_share, request
from mochi.server.mcp.share_endpoint import ShareEndpoint
from mochi.server.mcp.share_wire import (
    ShareInfo,
    encode,
    read_share_file,
    share_path,
    socket_path,
)
from mochi.server.mcp.workspace_files import ToolInputError


class StandIn:
    """A ToolBackend that answers from memory and records its calls."""

    mode = "shared"

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.closed = False

    def search_code(
        self, query: str, limit: int, path_glob: str, exclude_tests: bool, mode: Mode
    ) -> str:
        self.calls.append(("search_code", (query, limit, path_glob, exclude_tests, mode)))
        if not query:
            raise ToolInputError("query is empty")
        return f"hits for {query}"

    def context_for(self, path: str, line: int, column: int, task: str) -> str:
        raise ToolUnavailable("the language server's index is busy")

    def explain_symbol(self, name: str, path: str, line: int) -> str:
        raise RuntimeError("boom")

    def rank_candidates(
        self, candidates: list[str], path: str, line: int, column: int, prefix: str
    ) -> Ranking:
        scores = [
            CandidateScore(i, c, -float(len(c)), -2.0 * len(c), 2) for i, c in enumerate(candidates)
        ]
        return Ranking(
            "the given prefix", "default", tuple(sorted(scores, key=lambda s: -s.mean_logprob))
        )

    def check_conventions(self, path: str, diff: str) -> ConventionReport:
        finding = Finding(path, 2, 5, 9, "naming", "`getX`: snake_case here", 0.9, "get_x")
        return ConventionReport((path,), (), "", {path: "default"}, (finding,))

    def index_status(self) -> dict[str, Any]:
        return {"mode": "shared", "chunks": 3}

    def close(self) -> None:
        self.closed = True


def endpoint_for(backend: StandIn, root: Path, index: Path) -> ShareEndpoint:
    return ShareEndpoint(backend, root, share_path(index), socket_path(index))


@pytest.fixture
def shared(tmp_path: Path) -> Iterator[tuple[ShareEndpoint, StandIn]]:
    backend = StandIn()
    (tmp_path / "ws").mkdir()
    endpoint = endpoint_for(backend, tmp_path / "ws", tmp_path / "index")
    endpoint.start()
    yield endpoint, backend
    endpoint.close()


def test_the_share_file_is_private_and_names_this_process(shared: Any, tmp_path: Path) -> None:
    endpoint, _ = shared
    file = share_path(tmp_path / "index")
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    sock = Path(endpoint.socket)
    assert stat.S_ISSOCK(sock.stat().st_mode) and stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700  # only this user gets in
    info = read_share_file(file)
    assert info is not None and info == endpoint.info
    assert (info.pid, info.root) == (os.getpid(), str(tmp_path / "ws"))
    assert find_share(file, tmp_path / "ws") == info
    assert find_share(file, tmp_path) is None  # another workspace's share is not ours


def test_calls_are_forwarded_with_their_errors(shared: Any, tmp_path: Path) -> None:
    endpoint, backend = shared
    client = SharedBackend(endpoint.file, tmp_path / "ws", endpoint.info)
    assert client.search_code("circle area", 3, "pkg/*", True, "dense") == "hits for circle area"
    assert backend.calls == [("search_code", ("circle area", 3, "pkg/*", True, "dense"))]
    with pytest.raises(ToolInputError, match="query is empty"):
        client.search_code("", 3, "", False, "hybrid")
    with pytest.raises(ToolUnavailable, match="busy"):
        client.context_for("a.py", 1, 0, "")
    with pytest.raises(ToolUnavailable, match="explain_symbol failed in the language server"):
        client.explain_symbol("x", "", 0)
    ranking = client.rank_candidates(["ab", "a"], "", 0, 0, "x = ")
    assert [s.candidate for s in ranking.scores] == ["a", "ab"] and ranking.adapter == "default"
    report = client.check_conventions("a.py", "")
    assert report == backend.check_conventions("a.py", "")
    assert client.index_status() == {"mode": "shared", "chunks": 3, "server_pid": os.getpid()}


def raw(path: str, line: bytes) -> tuple[dict[str, Any], bytes]:
    """One request line; the reply and whatever follows it before the server hangs up."""
    with socket.socket(socket.AF_UNIX) as conn:
        conn.settimeout(5)
        conn.connect(path)
        conn.sendall(line)
        conn.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    first, _, rest = data.partition(b"\n")
    return json.loads(first), rest


def test_a_request_without_the_right_token_is_refused(shared: Any) -> None:
    endpoint, backend = shared
    port = endpoint.info.socket
    for token in ("wrong", None, endpoint.token[:-1]):
        reply, _ = raw(
            port, encode({"token": token, "method": "search_code", "params": {"query": "q"}})
        )
        assert reply["error"]["kind"] == "unauthorized"
    reply, _ = raw(port, b"not json\n")
    assert reply["error"]["kind"] == "bad_request"
    assert backend.calls == []  # nothing reached the index
    wrong = ShareInfo(port, "wrong", endpoint.info.pid, endpoint.info.root)
    with pytest.raises(ShareError, match="refused the token"):
        request(wrong, "hello", {}, 5)
    ok = request(endpoint.info, "hello", {}, 5)
    assert ok == {"pid": os.getpid(), "root": endpoint.info.root}


def test_unknown_methods_and_arguments_are_bad_requests(shared: Any) -> None:
    endpoint, _ = shared
    for method, params in (("close", {}), ("search_code", {"nope": 1}), ("index_status", [])):
        line = encode({"token": endpoint.token, "method": method, "params": params})
        reply, _ = raw(endpoint.info.socket, line)
        assert reply["error"]["kind"] == "bad_request", (method, reply)


def test_closing_removes_the_file_and_stops_listening(tmp_path: Path) -> None:
    backend = StandIn()
    endpoint = endpoint_for(backend, tmp_path, tmp_path / "index")
    info = endpoint.start()
    endpoint.close()
    assert not endpoint.file.exists() and backend.closed
    assert not Path(info.socket).exists()
    assert find_share(endpoint.file, tmp_path) is None


def test_a_newer_share_file_is_left_alone(tmp_path: Path) -> None:
    file = share_path(tmp_path / "index")
    first = ShareEndpoint(StandIn(), tmp_path, file, socket_path(tmp_path / "one"))
    first.start()
    second = ShareEndpoint(StandIn(), tmp_path, file, socket_path(tmp_path / "two"))
    second.start()
    first.close()
    assert read_share_file(file) == second.info
    second.close()
    assert not file.exists()


def test_the_client_follows_a_restarted_server(tmp_path: Path) -> None:
    old = endpoint_for(StandIn(), tmp_path, tmp_path / "index")
    file = old.file
    client = SharedBackend(file, tmp_path, old.start())
    old.close()
    with pytest.raises(ToolUnavailable, match="does not answer"):
        client.search_code("q", 1, "", False, "hybrid")
    new = endpoint_for(StandIn(), tmp_path, tmp_path / "index")
    new.start()
    try:
        assert client.search_code("q", 1, "", False, "hybrid") == "hits for q"
    finally:
        new.close()
