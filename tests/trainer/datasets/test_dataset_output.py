"""Dedup, the card, save/load, spec validation and Q/A pairs from a chat endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from dataset_repo import GEOMETRY_V2, DatasetRepo

from mochi.trainer.datasets import (
    BuiltDataset,
    DatasetError,
    DatasetSpec,
    build_dataset,
    load_dataset,
    save_dataset,
)
from mochi.trainer.datasets.card import samples_hash
from mochi.trainer.datasets.dedup import deduplicate
from mochi.trainer.datasets.qa_samples import parse_pair, qa_prompt
from mochi.trainer.samples import Sample

EOS = "<|endoftext|>"


def words(text: str) -> int:
    return len(text.split())


def build(repo: DatasetRepo, **spec: object) -> BuiltDataset:
    return build_dataset(
        repo.root, DatasetSpec(**spec), fim_template="qwen", eos=EOS, count_tokens=words
    )  # type: ignore[arg-type]


LONG = " ".join(f"value_{i} = compute(item_{i}, scale={i})" for i in range(60))


def test_exact_and_near_duplicates_are_dropped() -> None:
    base = Sample(f"# a.py\n{LONG}\n", "    return total\n", "fim", "a.py")
    exact = Sample(base.prompt, base.completion, "fim", "b.py")  # same text, other file
    near = Sample(base.prompt.replace("scale=7)", "scale=70)"), base.completion, "fim", "c.py")
    other_answer = Sample(base.prompt, "    raise ValueError(total)\n", "fim", "a.py")
    other_task = Sample("# d.py\ndef unrelated():\n    pass\n", base.completion, "fim", "d.py")
    counts: dict[str, int] = {}
    items = [(s, s.path) for s in (base, exact, near, other_answer, other_task)]
    kept = [s for s, _ in deduplicate(items, 0.85, counts)]
    assert kept == [base, other_answer, other_task]
    assert counts == {"exact_duplicates": 1, "near_duplicates": 1}
    strict = [s for s, _ in deduplicate(items, 1.0, {})]
    assert near in strict  # threshold 1: exact duplicates only


def test_near_duplicate_files_give_one_set_of_samples(dataset_repo: DatasetRepo) -> None:
    dataset_repo.repo.write("pkg/geometry_copy.py", GEOMETRY_V2.replace("Geometry", "Copied"))
    spec = {"eval_fraction": 0.0, "commit_pairs": False, "fim_rate": 1.0, "samples_per_unit": 10}

    def per_file(built: BuiltDataset) -> tuple[int, int]:
        paths = [s.path for s in built.train]
        return paths.count("pkg/geometry.py"), paths.count("pkg/geometry_copy.py")

    loose = build(dataset_repo, **spec, near_dup_threshold=1.0)  # exact duplicates only
    original, copy = per_file(loose)
    assert original == copy > 10
    built = build(dataset_repo, **spec)
    assert built.card.dropped["near_duplicates"] > original / 2
    assert per_file(built)[1] < original / 2  # short doc-to-code prompts differ enough


def test_random_split_keeps_a_unit_on_one_side(dataset_repo: DatasetRepo) -> None:
    built = build(dataset_repo, eval_fraction=0.4, samples_per_unit=10, fim_rate=1.0)
    assert built.train and built.eval

    def units(samples: list[Sample]) -> set[tuple[str, str]]:
        return {(s.path, s.completion) for s in samples if s.kind == "fim"}

    assert not units(built.train) & units(built.eval)
    commits_train = {s.commit for s in built.train if s.kind.startswith(("commit", "diff"))}
    commits_eval = {s.commit for s in built.eval if s.kind.startswith(("commit", "diff"))}
    assert not commits_train & commits_eval  # both directions of a commit together


def test_card_counts_hash_and_round_trip(dataset_repo: DatasetRepo, tmp_path: Path) -> None:
    built = build(dataset_repo, eval_fraction=0.3)
    card = built.card
    for split, samples in (("train", built.train), ("eval", built.eval)):
        for kind in {s.kind for s in samples}:
            assert card.counts[split][kind] == sum(1 for s in samples if s.kind == kind)
    assert card.total() == len(built.train) + len(built.eval)
    assert card.sha256 == samples_hash(built.train, built.eval)
    prompts = sorted(words(s.prompt) for s in built.train + built.eval)
    assert (card.prompt_tokens.min, card.prompt_tokens.max) == (prompts[0], prompts[-1])
    assert card.prompt_tokens.min <= card.prompt_tokens.p50 <= card.prompt_tokens.p95
    assert card.spec["eval_fraction"] == 0.3 and card.created_at
    assert card.summary().startswith(f"dataset {card.sha256[:12]}: train {len(built.train)}")
    folder = save_dataset(tmp_path / "ds", built)
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "eval.jsonl", "train.jsonl"]
    loaded = load_dataset(folder)
    assert loaded.train == built.train and loaded.eval == built.eval
    assert loaded.card == card
    assert samples_hash(loaded.train, loaded.eval) == card.sha256
    with pytest.raises(DatasetError, match=r"card\.json is missing"):
        load_dataset(tmp_path / "nothing-here")


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"fim_rate": 1.5}, "fim_rate"),
        ({"split": "sideways"}, "split"),
        ({"split": "time"}, "split_commit"),
        ({"eval_fraction": 1.0}, "eval_fraction"),
        ({"near_dup_threshold": 0.0}, "near_dup_threshold"),
        ({"max_middle_lines": 0}, "max_middle_lines"),
        ({"qa_endpoint": "ftp://x"}, "qa_endpoint"),
        ({"qa_endpoint": "http://x"}, "qa_model"),
    ],
)
def test_spec_errors_name_the_field(options: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"DatasetSpec.{field} "):
        DatasetSpec(**options)  # type: ignore[arg-type]


class _ChatModel(BaseHTTPRequestHandler):
    """Answers /v1/chat/completions with a Q/A pair about the code it was shown; a unit
    whose code mentions `norm` gets an HTTP 500 (a failure the build must survive)."""

    requests: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.requests.append({"path": self.path, **body})
        code = body["messages"][-1]["content"]
        if "def norm" in code:
            self.send_response(500)
            self.end_headers()
            return
        name = code.split("(")[0].split()[-1]
        content = "```json\n" + json.dumps(
            {"question": f"What does {name} do?", "answer": f"{name} computes a value."}
        ) + "\n```"  # fmt: skip
        reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chat_server() -> Iterator[str]:
    _ChatModel.requests = []
    server = HTTPServer(("127.0.0.1", 0), _ChatModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_qa_pairs_from_a_chat_endpoint_survive_failures(
    dataset_repo: DatasetRepo, chat_server: str
) -> None:
    built = build(
        dataset_repo, qa_endpoint=chat_server, qa_model="tiny-chat", qa_max_units=50,
        eval_fraction=0.0, samples_per_unit=0, docstring_pairs=False, commit_pairs=False,
    )  # fmt: skip
    qa = [s for s in built.train if s.kind == "qa"]
    assert _ChatModel.requests and all(
        r["path"] == "/v1/chat/completions" and r["model"] == "tiny-chat"
        for r in _ChatModel.requests
    )
    assert built.card.dropped["qa_failures"] >= 1  # the unit with `def norm`
    assert len(qa) == len(_ChatModel.requests) - built.card.dropped["qa_failures"]
    volume = next(s for s in qa if "volume" in s.completion)
    assert volume.prompt == qa_prompt("pkg/geometry.py", "What does volume do?")
    assert volume.completion == f"volume computes a value.{EOS}"
    assert not any("AKIA" in str(r) for r in _ChatModel.requests)  # secrets never sent
    limited = build(
        dataset_repo, qa_endpoint=chat_server + "/v1", qa_model="m", qa_max_units=2,
        eval_fraction=0.0, samples_per_unit=0, docstring_pairs=False, commit_pairs=False,
    )  # fmt: skip
    assert len([s for s in limited.train if s.kind == "qa"]) <= 2


def test_qa_reply_parsing() -> None:
    assert parse_pair('{"question": "Why?", "answer": "Because."}') == ("Why?", "Because.")
    assert parse_pair("Q: What is x?\nA: A number.") == ("What is x?", "A number.")
    with pytest.raises(Exception, match="not a question/answer pair"):
        parse_pair("I cannot help with that.")
