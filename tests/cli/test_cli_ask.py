"""`mochi ask` as users run it: a real process, the real embedding model and index, and a
real HTTP OpenAI-compatible server (the stand-in) configured in `.mochi.toml`. The test
checks what reached the server (the workspace's sources, numbered) and that every claim
of the printed answer cites `path:line` inside them."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator

import pytest
from chat_stand_in import ChatStandIn, sources_in
from geometry_sample import GEOMETRY
from git_repo import GitRepo
from mochi_cli import mochi
from ports import free_port

pytestmark = pytest.mark.slow
QUESTION = "How is the area of a circle computed?"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[ChatStandIn]:
    server = ChatStandIn().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> tuple[GitRepo, dict[str, str]]:
    root = tmp_path_factory.mktemp("ask")
    repo = GitRepo.create(root / "ws")
    repo.write("pkg/geometry.py", GEOMETRY)
    repo.write("docs/guide.md", "# Guide\n\n## Configuration\n\nmochi reads `.mochi.toml`.\n")
    repo.commit("Add geometry helpers")
    env = {**os.environ, "XDG_DATA_HOME": str(root / "xdg"), "HF_HUB_OFFLINE": "1"}
    done = mochi("index", str(repo.root), env=env)
    assert done.returncode == 0, done.stderr
    return repo, env


def configure(repo: GitRepo, ask: str) -> None:
    (repo.root / ".mochi.toml").write_text(f"[ask]\n{ask}\n")


def test_ask_cites_the_workspace_through_a_real_http_server(
    indexed: tuple[GitRepo, dict[str, str]], stand_in: ChatStandIn
) -> None:
    repo, env = indexed
    configure(repo, f'llm = "openai"\nurl = "{stand_in.url}"\nmodel = "stand-in"\nmax_sources = 3')
    stand_in.requests.clear()
    done = mochi("ask", QUESTION, "-w", str(repo.root), env=env)
    assert done.returncode == 0, done.stderr
    assert "retrieving sources" in done.stderr and "asking stand-in at" in done.stderr

    (request,) = stand_in.requests
    assert request["model"] == "stand-in"
    sent = sources_in(request)
    assert 1 <= len(sent) <= 3
    assert sent[0][1] == "pkg/geometry.py"  # reranked first: it answers the question
    user = request["messages"][-1]["content"]
    assert "return math.pi * radius * radius" in user and user.endswith(QUESTION)

    answer, _, footer = done.stdout.partition("\nSources:\n")
    assert answer.startswith("The answer starts in pkg/geometry.py [pkg/geometry.py:")
    cited = re.findall(r"\[([\w./]+):(\d+)(?:-\d+)?( \(attributed\))?\]", answer)
    assert len(cited) >= 3 and any(c[2] for c in cited) and any(not c[2] for c in cited)
    for path, line, _ in cited:  # every citation points at a real line of a source
        assert any(p == path and a <= int(line) <= b for _, p, a, b in sent), (path, line)
    assert "nowhere/else.py" not in answer
    assert "[1] pkg/geometry.py:" in footer
    assert "citations outside the sources, taken out: nowhere/else.py:999" in footer


def test_ask_json_and_overrides(
    indexed: tuple[GitRepo, dict[str, str]], stand_in: ChatStandIn
) -> None:
    repo, env = indexed
    configure(repo, 'llm = ""')  # nothing configured: the command line says what to use
    url = stand_in.url + "/v1"
    done = mochi(
        "ask", QUESTION, "-w", str(repo.root), "--llm", "openai", "--url", url, "--json", env=env
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["question"] == QUESTION
    assert {c["how"] for c in result["citations"]} == {"cited", "attributed"}
    assert result["rejected"] == ["nowhere/else.py:999"]
    paths = {s["path"] for s in result["sources"]}
    assert {c["path"] for c in result["citations"]} <= paths


def test_no_llm_configured_says_which_keys_to_set(indexed: tuple[GitRepo, dict[str, str]]) -> None:
    repo, env = indexed
    configure(repo, 'llm = ""')
    done = mochi("ask", QUESTION, "-w", str(repo.root), env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert "no LLM is configured for ask" in done.stderr
    assert '[ask] llm = "openai" with url = ' in done.stderr and 'llm = "local"' in done.stderr


def test_an_unreachable_server_is_one_clear_line(indexed: tuple[GitRepo, dict[str, str]]) -> None:
    repo, env = indexed
    url = f"http://127.0.0.1:{free_port()}"
    configure(repo, f'llm = "openai"\nurl = "{url}"')
    done = mochi("ask", QUESTION, "-w", str(repo.root), env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert f"mochi: cannot reach the LLM at {url}" in done.stderr
    assert "Traceback" not in done.stderr
