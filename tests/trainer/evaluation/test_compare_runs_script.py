"""scripts/compare_eval_runs.py: paired figures of two run folders on their shared tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from script_module import load_script

from mochi.trainer.evaluation.results import Result, ResultLog
from mochi.trainer.evaluation.tasks import Task, write_tasks

TRUTHS = {"t1": "return a + b", "t2": "x = 1", "t3": "pass"}


def run_folder(root: Path, predictions: dict[str, str]) -> Path:
    root.mkdir()
    tasks = [
        Task(
            id=i,
            commit="c" * 40,
            time=0,
            path="a.py",
            line=1,
            language="python",
            prefix="",
            suffix="",
            truth=truth,
        )
        for i, truth in TRUTHS.items()
    ]
    write_tasks(root / "tasks.jsonl", tasks)
    log = ResultLog(root / "results.jsonl")
    for task, prediction in predictions.items():
        log.add(Result("base", task, prediction, 0.1))
    log.add(Result("lora", "t1", "return a + b", 0.1))  # another configuration: not compared
    return root


def test_paired_difference_on_shared_tasks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("compare_eval_runs.py")
    a = run_folder(tmp_path / "a", {"t1": "return a", "t2": "y = 2", "t3": "pass"})
    b = run_folder(tmp_path / "b", {"t1": "return a + b", "t2": "x = 1"})  # t3 not scored yet
    out = tmp_path / "cmp.json"
    assert script.main([str(a), str(b), "--out", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["n"] == 2  # t1 and t2
    em = figures["exact_match"]
    assert em["a"]["value"] == 0.0 and em["b"]["value"] == 1.0
    assert em["b_minus_a"]["value"] == 1.0
    assert figures["indentation"]["a"]["value"] == 1.0  # every line starts in column 0
    assert (
        "| exact_match | 0.0 [0.0, 0.0] | 100.0 [100.0, 100.0] | +100.0" in capsys.readouterr().out
    )


def test_runs_without_shared_tasks_are_an_error(tmp_path: Path) -> None:
    script = load_script("compare_eval_runs.py")
    a = run_folder(tmp_path / "a", {"t1": "x"})
    b = run_folder(tmp_path / "b", {"t2": "x"})
    assert script.main([str(a), str(b)]) == 2
