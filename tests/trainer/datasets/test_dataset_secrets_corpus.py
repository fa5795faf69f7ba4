"""No secret of a realistic corpus reaches a training dataset: every builder (FIM and
doc-to-code from the tree, commit <-> diff pairs, the time split's later changes, Q/A
pairs from a chat endpoint, continual builds), the files saved, the chat requests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from git_repo import GitRepo
from secret_corpus import Corpus, plant_corpus

from mochi.trainer.datasets import BuiltDataset, DatasetSpec, build_dataset, save_dataset

pytestmark = pytest.mark.slow


class _EchoChat(BaseHTTPRequestHandler):
    """A chat model that repeats the code it is shown: the worst case for a leak."""

    bodies: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).bodies.append(body)
        code = json.loads(body)["messages"][-1]["content"]
        answer = json.dumps({"question": "What does this do?", "answer": code})
        reply = json.dumps({"choices": [{"message": {"content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chat_server() -> Iterator[str]:
    _EchoChat.bodies = []
    server = HTTPServer(("127.0.0.1", 0), _EchoChat)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _build(root: Path, *, changed_since: str | None = None, **spec: object) -> BuiltDataset:
    return build_dataset(
        root,
        DatasetSpec(**{"fim_rate": 0.5, "samples_per_unit": 4, **spec}),  # type: ignore[arg-type]
        fim_template="qwen",
        eos="<|endoftext|>",
        count_tokens=lambda text: len(text.split()),
        changed_since=changed_since,
    )


def test_no_planted_secret_reaches_a_dataset(
    git_repo: GitRepo, chat_server: str, tmp_path: Path
) -> None:
    corpus: Corpus = plant_corpus(git_repo)
    commits = git_repo.git("rev-list", "--reverse", "HEAD").split()
    qa = {"qa_endpoint": chat_server, "qa_model": "echo", "qa_max_units": 100}
    builds = {
        "random split": _build(git_repo.root, eval_fraction=0.2, **qa),
        "time split": _build(git_repo.root, split="time", split_commit=commits[1]),
        "continual": _build(git_repo.root, changed_since=commits[0], eval_fraction=0.0),
    }
    kinds: set[str] = set()
    for name, built in builds.items():
        samples = built.train + built.eval
        kinds |= {s.kind for s in samples}
        texts = "\n".join(s.prompt + "\n" + s.completion for s in samples)
        assert not [p.kind for p in corpus.leaks(texts)], name
        folder = tmp_path / name.replace(" ", "-")
        save_dataset(folder, built)
        saved = "\n".join(p.read_text() for p in folder.rglob("*") if p.is_file())
        assert not [p.kind for p in corpus.leaks(saved)], name
    assert not [p.kind for p in corpus.leaks("\n".join(_EchoChat.bodies))]  # never sent
    # Every builder ran and gave samples; the secrets were redacted, not the files dropped.
    assert {"fim", "doc-to-code", "commit-to-diff", "diff-to-commit", "qa"} <= kinds
    assert builds["time split"].eval
    dropped = builds["random split"].card.dropped
    assert dropped["secrets_redacted"] >= 20 and dropped["secret_commits"] >= 4
    samples = builds["random split"].train + builds["random split"].eval
    assert {"app/settings.py", "app/math_utils.py"} <= {s.path for s in samples}
