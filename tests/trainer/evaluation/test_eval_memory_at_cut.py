"""The memory configurations: the token memory of the tree at the cut, built in the run
folder with the run's memory settings (λ, k, temperature, adaptive), the ones decoding
mixes with."""

from __future__ import annotations

from pathlib import Path

import pytest
from eval_history import History

from mochi.server.cli.served_completer import MEMORY_DIR, open_served_completer
from mochi.trainer.evaluation import DecodingSettings, RunSpec, TaskOptions, parse_configurations
from mochi.trainer.evaluation.run_state import prepare_run


@pytest.mark.slow
def test_the_memory_at_the_cut_mixes_with_the_runs_settings(
    history: History, tiny_model_dir: Path, tmp_path: Path
) -> None:
    decoding = DecodingSettings(
        dtype="float32",
        memory_weight=0.3,
        memory_neighbours=5,
        memory_temperature=2.0,
        memory_adaptive=True,
    )
    spec = RunSpec(
        repo=history.root,
        since=history.cut,
        out=tmp_path / "run",
        model_dir=tiny_model_dir,
        configs=parse_configurations("base,memory"),
        tasks=TaskOptions(max_tasks=2),
        decoding=decoding,
        bootstrap_resamples=100,
    )
    with open_served_completer(spec, prepare_run(spec)) as completer:
        memory = completer.generator.current_memory()  # type: ignore[attr-defined]
        assert memory is not None and memory.size > 0
        settings = memory.settings
        assert (settings.weight, settings.neighbours) == (0.3, 5)
        assert (settings.temperature, settings.adaptive) == (2.0, True)
    assert (spec.out / MEMORY_DIR).is_dir()
