"""The run's report: `report.json`, `report.md` and `report.png` in the run folder."""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mochi.trainer.evaluation.configurations import BASE
from mochi.trainer.evaluation.report_markdown import render_markdown
from mochi.trainer.evaluation.report_plot import plot_report
from mochi.trainer.evaluation.results import Result
from mochi.trainer.evaluation.run_spec import RunSpec
from mochi.trainer.evaluation.run_state import PreparedRun
from mochi.trainer.evaluation.scoring import score_subset

REPORT_JSON = "report.json"
REPORT_MD = "report.md"
REPORT_PNG = "report.png"


def build_report(
    spec: RunSpec, run: PreparedRun, results: Mapping[tuple[str, str], Result]
) -> dict[str, Any]:
    names = [c.name for c in spec.configs]
    api = [t for t in run.tasks if t.api]

    def subset(tasks: list[Any]) -> dict[str, Any]:
        return score_subset(
            tasks,
            results,
            names,
            BASE.name,
            resamples=spec.bootstrap_resamples,
            seed=spec.seed,
        )

    return {
        "run": {
            "command": spec.command,
            "repository": str(run.repo),
            "since": run.since,
            "until": run.until,
            "commits": run.commits,
            "model": str(spec.model_dir),
            "adapter": str(spec.adapter_dir) if spec.adapter_dir else "",
            "configs": names,
            "seed": spec.seed,
            "bootstrap_resamples": spec.bootstrap_resamples,
            "tasks": spec.tasks.to_json(),
            "decoding": spec.decoding.to_json(),
        },
        "all": subset(run.tasks),
        "api": subset(api),
        "timing": {
            name: statistics.fmean(results[(name, t.id)].seconds for t in run.tasks)
            for name in names
        },
    }


def write_report(report: dict[str, Any], out: Path) -> None:
    (out / REPORT_JSON).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    plot_report(report, out / REPORT_PNG)
    (out / REPORT_MD).write_text(render_markdown(report, REPORT_PNG), encoding="utf-8")
