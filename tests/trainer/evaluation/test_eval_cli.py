"""`mochi eval` from the command line: errors, and a run on the tiny model end to end."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from eval_history import History

from mochi.server.cli.main import main


def test_not_a_repository(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(tmp_path), "--since", "HEAD"]) == 2
    assert "is not a git repository" in capsys.readouterr().err


def test_unknown_commit_and_configuration(
    history: History, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(history.root), "--since", "v9.9"]) == 2
    assert "unknown commit 'v9.9'" in capsys.readouterr().err
    assert main(["eval", str(history.root), "--since", "HEAD~2", "--configs", "rag"]) == 2
    assert "unknown configuration(s) rag" in capsys.readouterr().err
    assert main(["eval", str(history.root), "--since", "HEAD~2", "--max-tasks", "0"]) == 2
    assert "max_tasks must be > 0" in capsys.readouterr().err


def test_token_healing_can_be_switched_off(
    history: History, tiny_model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plain"
    args = ["eval", str(history.root), "--since", history.cut, "--configs", "base"]
    args += ["--model", str(tiny_model_dir), "--out", str(out), "--quiet"]
    args += ["--max-new-tokens", "4", "--max-tasks", "2", "--no-token-healing"]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["decoding"]["token_healing"] is False
    assert "token healing off" in (out / "report.md").read_text()


def test_no_tasks(
    history: History, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["eval", str(history.root), "--since", "HEAD~1", "--languages", "rust"]
    args += ["--model", str(tiny_model_dir), "--out", str(tmp_path / "o"), "--quiet"]
    assert main(args) == 2
    assert "no tasks found in the 1 commits" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_end_to_end_on_the_tiny_model(
    history: History,
    tiny_model_dir: Path,
    tmp_path: Path,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "run"
    args = ["eval", str(history.root), "--since", history.cut, "--configs", "base,retrieval"]
    args += ["--model", str(tiny_model_dir), "--out", str(out), "--quiet", "--max-new-tokens", "8"]
    args += ["--max-per-file", "100", "--max-per-commit", "100"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "10 tasks (2 in the API subset) from 2 commits" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["configs"] == ["base", "retrieval"]
    assert report["run"]["since"] == history.cut
    assert report["run"]["model"] == str(tiny_model_dir.resolve())
    assert report["run"]["decoding"]["token_healing"] is True  # as the server decodes
    assert "token healing on" in (out / "report.md").read_text()
    assert report["all"]["n"] == 10 and report["api"]["n"] == 2
    for name in ("base", "retrieval"):
        em = report["all"]["configs"][name]["exact_match"]
        assert em["low"] <= em["value"] <= em["high"]
    assert "exact_match_ratio_vs_base" in report["all"]["configs"]["retrieval"]
    assert (out / "report.png").stat().st_size > 1000
    assert "## API subset" in (out / "report.md").read_text()
    results = [json.loads(line) for line in (out / "results.jsonl").open()]
    assert len(results) == 20
    # The worktree at the cut is gone; its index stays in the run folder for a rerun.
    assert not (out / "worktree").exists()
    assert (out / "rag" / "indexes").is_dir()
    worktrees = subprocess.run(
        ["git", "worktree", "list"], cwd=history.root, capture_output=True, text=True
    ).stdout
    assert len(worktrees.strip().splitlines()) == 1
    # A rerun recomputes nothing and writes the same scores.
    assert main(args) == 0
    assert len((out / "results.jsonl").read_text().splitlines()) == 20
    assert json.loads((out / "report.json").read_text())["all"] == report["all"]
