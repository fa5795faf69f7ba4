"""The runner with a scripted completer: exact scores, resuming, run-folder identity."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from eval_history import History

from mochi.trainer.evaluation import (
    Configuration,
    EvalError,
    RunSpec,
    Task,
    TaskOptions,
    parse_configurations,
    run_evaluation,
)
from mochi.trainer.evaluation.results import read_results
from mochi.trainer.evaluation.run_state import PreparedRun

OPTIONS = TaskOptions(max_tasks=100, max_per_commit=100, max_per_file=100)
CONFIGS = parse_configurations("base,retrieval")


class Scripted:
    """base knows the app's line 7 only; retrieval knows lines 7 and 8 of the app."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.stop_after = stop_after

    def complete(self, task: Task, config: Configuration) -> str:
        if self.stop_after is not None and len(self.calls) == self.stop_after:
            raise KeyboardInterrupt
        self.calls.append((config.name, task.id))
        known = {7} if config.name == "base" else {7, 8}
        if task.path == "pkg/app.py" and task.line in known:
            return task.truth.strip()
        if task.path == "pkg/app.py" and task.line == 12:
            return "        labels,"  # one character off
        return "pass"


def factory(completer: Scripted):  # type: ignore[no-untyped-def]
    @contextmanager
    def open_completer(spec: RunSpec, run: PreparedRun) -> Iterator[Scripted]:
        yield completer

    return open_completer


def spec_for(history: History, out: Path, **extra: object) -> RunSpec:
    fields: dict[str, object] = {
        "repo": history.root,
        "since": history.cut,
        "out": out,
        "model_dir": Path("/models/none"),
        "configs": CONFIGS,
        "tasks": OPTIONS,
        "bootstrap_resamples": 200,
    }
    return RunSpec(**{**fields, **extra})  # type: ignore[arg-type]


def test_scores_are_exact_on_a_scripted_completer(history: History, tmp_path: Path) -> None:
    report = run_evaluation(spec_for(history, tmp_path / "out"), factory(Scripted()))
    everything, api = report["all"], report["api"]
    assert everything["n"] == 10 and api["n"] == 2
    base, retrieval = everything["configs"]["base"], everything["configs"]["retrieval"]
    assert base["exact_match"]["value"] == pytest.approx(1 / 10)
    assert retrieval["exact_match"]["value"] == pytest.approx(2 / 10)
    # identifiers: `pass` vs `pass`-free lines never match; `labels` vs `label` neither.
    assert base["identifier_match"]["value"] == pytest.approx(1 / 10)
    diff = retrieval["difference_vs_base"]["exact_match"]
    assert diff["value"] == pytest.approx(1 / 10)
    assert diff["low"] >= 0.0
    assert retrieval["exact_match_ratio_vs_base"]["value"] == pytest.approx(2.0)
    assert "difference_vs_base" not in base
    # The API subset is app.py lines 7 (area) and 8 (shout): base 1/2, retrieval 2/2.
    assert api["configs"]["base"]["exact_match"]["value"] == pytest.approx(0.5)
    assert api["configs"]["retrieval"]["exact_match"]["value"] == pytest.approx(1.0)
    # Edit similarity of line 12: "labels," vs "label," -> 1 - 1/7; line 7 -> 1.
    out = tmp_path / "out"
    results = read_results(out / "results.jsonl")
    assert len(results) == 20
    for name in ("report.json", "report.md", "report.png", "tasks.jsonl", "run.json"):
        assert (out / name).is_file(), name
    assert json.loads((out / "report.json").read_text()) == json.loads(json.dumps(report))
    markdown = (out / "report.md").read_text()
    assert "| retrieval | 10 | 20.0 [" in markdown
    assert "![scores per configuration](report.png)" in markdown


def test_edit_similarity_mean_is_exact(history: History, tmp_path: Path) -> None:
    report = run_evaluation(spec_for(history, tmp_path / "out"), factory(Scripted()))
    tasks = [json.loads(line) for line in (tmp_path / "out" / "tasks.jsonl").open()]
    from mochi.trainer.evaluation.metrics import edit_similarity

    expected = []
    for t in tasks:
        if t["path"] == "pkg/app.py" and t["line"] == 7:
            expected.append(1.0)
        elif t["path"] == "pkg/app.py" and t["line"] == 12:
            expected.append(1 - 1 / 7)
        else:
            expected.append(edit_similarity("pass", t["truth"]))
    assert edit_similarity("pass", "return (") == 0.0  # no letter in common: 8 edits of 8
    assert edit_similarity("pass", "class Box:") == pytest.approx(1 - 7 / 10)  # "ass" kept
    base = report["all"]["configs"]["base"]["edit_similarity"]["value"]
    assert base == pytest.approx(sum(expected) / 10)


def test_an_interrupted_run_resumes_without_recomputing(history: History, tmp_path: Path) -> None:
    reference = run_evaluation(spec_for(history, tmp_path / "ref"), factory(Scripted()))
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_evaluation(spec_for(history, out), factory(Scripted(stop_after=7)))
    assert len(read_results(out / "results.jsonl")) == 7
    assert not (out / "report.json").exists()
    resumed = Scripted()
    report = run_evaluation(spec_for(history, out), factory(resumed))
    assert len(resumed.calls) == 20 - 7
    for key in ("all", "api"):
        assert report[key] == reference[key]

    # A third run finds everything done and does not open the completer at all.
    def refuse(spec: RunSpec, run: PreparedRun):  # type: ignore[no-untyped-def]
        raise AssertionError("the completer must not be opened")

    again = run_evaluation(spec_for(history, out), refuse)
    assert again["all"] == reference["all"]


def test_a_crash_mid_line_is_tolerated(history: History, tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_evaluation(spec_for(history, out), factory(Scripted(stop_after=3)))
    with (out / "results.jsonl").open("a") as f:
        f.write('{"config": "base", "task": "cut sh')  # the process died mid-write
    resumed = Scripted()
    run_evaluation(spec_for(history, out), factory(resumed))
    assert len(resumed.calls) == 17
    assert len(read_results(out / "results.jsonl")) == 20


def test_a_run_folder_holds_one_run(history: History, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_evaluation(spec_for(history, out), factory(Scripted()))
    other = spec_for(history, out, tasks=TaskOptions(max_tasks=5))
    with pytest.raises(EvalError, match=r"holds another run.*tasks"):
        run_evaluation(other, factory(Scripted()))


def test_errors_before_any_model(history: History, tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="not a git repository"):
        run_evaluation(
            RunSpec(repo=tmp_path, since="HEAD", out=tmp_path / "o", model_dir=tmp_path),
            factory(Scripted()),
        )
    with pytest.raises(EvalError, match="no commits after"):
        run_evaluation(
            RunSpec(repo=history.root, since="HEAD", out=tmp_path / "o", model_dir=tmp_path),
            factory(Scripted()),
        )
    history.repo.write("NOTES.md", "notes\n")
    history.repo.commit("notes only")
    notes = RunSpec(
        repo=history.root, since=history.geometry, out=tmp_path / "o3", model_dir=tmp_path
    )
    with pytest.raises(EvalError, match="no tasks found in the 1 commits"):
        run_evaluation(notes, factory(Scripted()))


def test_configurations_parse_in_canonical_order() -> None:
    assert [c.name for c in parse_configurations("retrieval+lora, lora")] == [
        "base",
        "lora",
        "retrieval+lora",
    ]
    with pytest.raises(EvalError, match=r"unknown configuration.*rag"):
        parse_configurations("base,rag")
