"""The lora configurations: an adapter trained on the repository at the cut (cached in the
run folder), or a ready one passed in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eval_history import History

from mochi.server.cli.served_completer import open_served_completer
from mochi.trainer.evaluation import RunSpec, TaskOptions, parse_configurations, run_evaluation
from mochi.trainer.evaluation.adapter_at_cut import trained_adapter_dir
from mochi.trainer.evaluation.run_state import PreparedRun


@pytest.mark.slow
def test_lora_trained_at_the_cut(
    history: History, tiny_model_dir: Path, tmp_path: Path, hashing_embedder: object
) -> None:
    spec = RunSpec(
        repo=history.root,
        since=history.cut,
        out=tmp_path / "run",
        model_dir=tiny_model_dir,
        configs=parse_configurations("base,lora,retrieval+lora"),
        tasks=TaskOptions(max_tasks=4),
        train_steps=2,
        bootstrap_resamples=100,
    )

    def opener(s: RunSpec, r: PreparedRun):  # type: ignore[no-untyped-def]
        return open_served_completer(s, r, embedder=hashing_embedder)  # type: ignore[arg-type]

    report = run_evaluation(spec, opener)
    adapter = trained_adapter_dir(spec.out)
    assert (adapter / "adapter_config.json").is_file()
    assert report["all"]["n"] == 4
    assert set(report["all"]["configs"]) == {"base", "lora", "retrieval+lora"}
    # The adapter saw the tree at the cut only: its dataset card names the cut.
    card = json.loads((spec.out / "lora" / "dataset" / "card.json").read_text())
    assert card["source"] == history.cut
    assert card["last_commit"] in ("", history.cut)
    # A ready adapter is used as given (no training in a new run folder).
    ready = RunSpec(
        repo=history.root,
        since=history.cut,
        out=tmp_path / "ready",
        model_dir=tiny_model_dir,
        configs=parse_configurations("lora"),
        tasks=TaskOptions(max_tasks=2),
        adapter_dir=adapter,
        bootstrap_resamples=100,
    )
    run_evaluation(ready, opener)
    assert not (ready.out / "lora").exists()
    assert not (ready.out / "rag").exists()  # no retrieval, no training: no index needed
