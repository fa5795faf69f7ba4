"""scripts/pool_eval_runs.py: the pooled ablation table of runs on several repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from script_module import load_script

from mochi.trainer.evaluation.results import Result, ResultLog
from mochi.trainer.evaluation.tasks import Task, write_tasks


def run_folder(root: Path, name: str, rows: dict[str, tuple[str, str, str]]) -> Path:
    """rows: task id -> (truth, base prediction, retrieval prediction)."""
    root.mkdir()
    tasks = [
        Task(id=i, commit="c" * 40, time=0, path="a.py", line=1, language="python",
             prefix="", suffix="", truth=truth)
        for i, (truth, _, _) in rows.items()
    ]  # fmt: skip
    write_tasks(root / "tasks.jsonl", tasks)
    with ResultLog(root / "results.jsonl") as log:
        for task, (_, base, retrieval) in rows.items():
            log.add(Result("base", task, base, 0.1))
            log.add(Result("retrieval", task, retrieval, 0.1))
    report = {"run": {"repository": f"/repos/{name}", "since": "a", "until": "b",
                      "configs": ["base", "retrieval"]}}  # fmt: skip
    (root / "report.json").write_text(json.dumps(report))
    return root


def test_pooled_means_weigh_every_task_and_differences_are_paired(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script("pool_eval_runs.py")
    one = run_folder(tmp_path / "one", "one", {
        "t1": ("x = 1", "x = 1", "x = 1"),  # both right
        "t2": ("y = 2", "", "y = 2"),  # retrieval right
    })  # fmt: skip
    two = run_folder(tmp_path / "two", "two", {"t1": ("z = 3", "", "")})  # both wrong
    out = tmp_path / "pooled"
    assert script.main([str(one), str(two), "--out", str(out)]) == 0
    pooled = json.loads(out.with_suffix(".json").read_text())
    assert [r["name"] for r in pooled["repositories"]] == ["one", "two"]
    base, retrieval = pooled["configs"]["base"], pooled["configs"]["retrieval"]
    assert base["exact_match"]["value"] == pytest.approx(1 / 3)  # 3 tasks, not 2 repositories
    assert retrieval["exact_match"]["value"] == pytest.approx(2 / 3)
    gain = retrieval["minus_base"]["exact_match"]
    assert gain["value"] == pytest.approx(1 / 3) and gain["low"] >= 0.0
    assert retrieval["em_ratio_vs_base"]["value"] == pytest.approx(2.0)
    assert retrieval["per_repository"]["two"]["exact_match"] == 0.0
    table = out.with_suffix(".md").read_text()
    assert "| retrieval | " in table and "ES one | ES two" in table
    assert out.with_suffix(".png").stat().st_size > 1000
    assert "| base |" in capsys.readouterr().out


def test_every_run_must_score_the_base(tmp_path: Path) -> None:
    script = load_script("pool_eval_runs.py")
    one = run_folder(tmp_path / "one", "one", {"t1": ("x", "x", "x")})
    report = json.loads((one / "report.json").read_text())
    report["run"]["configs"] = ["retrieval"]
    (one / "report.json").write_text(json.dumps(report))
    assert script.main([str(one), "--out", str(tmp_path / "p")]) == 2
