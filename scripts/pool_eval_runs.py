"""Pooled results of `mochi eval` runs on several repositories: the ablation table.

    python scripts/pool_eval_runs.py RUN_DIR [RUN_DIR ...] --out docs/benchmarks/eval-pooled

Each RUN_DIR is a `mochi eval --out` folder (tasks.jsonl, results.jsonl, report.json);
the configurations scored in every run are compared on their tasks. Per configuration:
exact match (EM), edit similarity (ES) and identifier match, per repository and pooled
(every task weighs the same), each with a 95 % bootstrap interval; the paired
differences against the base model and against retrieval alone; the EM ratio to the base.
The bootstrap is stratified: tasks are resampled within each repository, so every
resample keeps each repository's share of the pool. Writes OUT.json, OUT.md and OUT.png.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mochi.trainer.evaluation.metrics import METRICS, score_line
from mochi.trainer.evaluation.results import read_results
from mochi.trainer.evaluation.tasks import read_tasks

RESAMPLES = 2000
SHORT = {"exact_match": "EM", "edit_similarity": "ES", "identifier_match": "ID"}


@dataclass
class Run:
    name: str
    folder: Path
    report: dict[str, Any]
    scores: dict[str, dict[str, np.ndarray]]  # config -> metric -> per-task values


def load_run(folder: Path) -> Run:
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    tasks = read_tasks(folder / "tasks.jsonl")
    results = read_results(folder / "results.jsonl")
    configs = report["run"]["configs"]
    scores: dict[str, dict[str, np.ndarray]] = {}
    for config in configs:
        rows = [score_line(results[(config, t.id)].prediction, t.truth) for t in tasks]
        scores[config] = {m: np.array([r.get(m) for r in rows], dtype=float) for m in METRICS}
    name = Path(report["run"]["repository"]).name
    return Run(name, folder, report, scores)


def _resample_indices(sizes: list[int], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, n, size=(RESAMPLES, n)) for n in sizes]


def _pooled(runs: list[Run], values: list[np.ndarray], seed: int) -> dict[str, float | None]:
    """The pooled mean of per-task `values` (one array per run), with a stratified CI."""
    idx = _resample_indices([v.size for v in values], seed)
    total = sum(v.size for v in values)
    means = sum(v[i].sum(axis=1) for v, i in zip(values, idx, strict=True)) / total
    point = float(sum(v.sum() for v in values) / total)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"value": point, "low": float(low), "high": float(high)}


def _pooled_ratio(num: list[np.ndarray], den: list[np.ndarray], seed: int) -> dict[str, Any]:
    idx = _resample_indices([v.size for v in num], seed)
    top = sum(v[i].sum(axis=1) for v, i in zip(num, idx, strict=True))
    bottom = sum(v[i].sum(axis=1) for v, i in zip(den, idx, strict=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)
    finite = ratios[np.isfinite(ratios)]
    base = float(sum(v.sum() for v in den))
    value = float(sum(v.sum() for v in num)) / base if base > 0 else math.nan
    if finite.size == 0:
        return {"value": None, "low": None, "high": None}
    low, high = np.percentile(finite, [2.5, 97.5])
    return {
        "value": value if math.isfinite(value) else None,
        "low": float(low),
        "high": float(high),
    }


def _repository(run: Run) -> dict[str, Any]:
    return {
        "name": run.name,
        "folder": str(run.folder),
        "tasks": int(run.scores["base"]["exact_match"].size),
        "since": run.report["run"]["since"],
        "until": run.report["run"]["until"],
    }


def pool(runs: list[Run], reference: str) -> dict[str, Any]:
    shared = [c for c in runs[0].scores if all(c in r.scores for r in runs)]
    out: dict[str, Any] = {
        "repositories": [_repository(r) for r in runs],
        "configs": {},
        "reference": reference,
    }
    for config in shared:
        entry: dict[str, Any] = {"per_repository": {}}
        for metric in METRICS:
            values = [r.scores[config][metric] for r in runs]
            entry[metric] = _pooled(runs, values, seed=1)
            for against in ("base", reference):
                if against == config or against not in shared:
                    continue
                diffs = [r.scores[config][metric] - r.scores[against][metric] for r in runs]
                entry.setdefault(f"minus_{against}", {})[metric] = _pooled(runs, diffs, seed=2)
        entry["em_ratio_vs_base"] = _pooled_ratio(
            [r.scores[config]["exact_match"] for r in runs],
            [r.scores["base"]["exact_match"] for r in runs],
            seed=3,
        )
        for r in runs:
            entry["per_repository"][r.name] = {
                m: float(r.scores[config][m].mean()) for m in METRICS
            }
        out["configs"][config] = entry
    return out


def _pct(e: dict[str, Any], signed: bool = False) -> str:
    if e.get("value") is None:
        return "n/a"
    f = "{:+.1f}" if signed else "{:.1f}"
    return f"{f.format(100 * e['value'])} [{f.format(100 * e['low'])}, {f.format(100 * e['high'])}]"


def _ratio(e: dict[str, Any]) -> str:
    if e.get("value") is None:
        return "n/a"
    return f"{e['value']:.2f} [{e['low']:.2f}, {e['high']:.2f}]"


def markdown(pooled: dict[str, Any]) -> str:
    reference = pooled["reference"]
    repos = [r["name"] for r in pooled["repositories"]]
    lines = [
        "| configuration | ES | ES − base | ES − "
        + reference
        + " | EM | EM ÷ base | "
        + " | ".join(f"ES {name}" for name in repos)
        + " |",
        "|---" * (6 + len(repos)) + "|",
    ]
    for config, e in pooled["configs"].items():
        minus_base = e.get("minus_base", {}).get("edit_similarity", {})
        minus_ref = e.get(f"minus_{reference}", {}).get("edit_similarity", {})
        cells = [
            config,
            _pct(e["edit_similarity"]),
            _pct(minus_base, signed=True) if minus_base else "—",
            _pct(minus_ref, signed=True) if minus_ref else "—",
            _pct(e["exact_match"]),
            _ratio(e["em_ratio_vs_base"]) if config != "base" else "—",
            *(f"{100 * e['per_repository'][name]['edit_similarity']:.1f}" for name in repos),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(pooled: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = list(pooled["configs"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, metric in zip(axes, ("edit_similarity", "exact_match"), strict=True):
        values = [pooled["configs"][c][metric] for c in configs]
        mid = [100 * v["value"] for v in values]
        err = [[m - 100 * v["low"] for m, v in zip(mid, values, strict=True)],
               [100 * v["high"] - m for m, v in zip(mid, values, strict=True)]]  # fmt: skip
        ax.bar(range(len(configs)), mid, yerr=err, capsize=4, color="#7aa6c2")
        for i, c in enumerate(configs):
            per = pooled["configs"][c]["per_repository"]
            ax.scatter([i] * len(per), [100 * p[metric] for p in per.values()], color="k", s=10)
        ax.set_xticks(range(len(configs)), configs, rotation=30, ha="right")
        ax.set_ylabel(f"{SHORT[metric]} (%), pooled, 95 % CI; dots: repositories")
    fig.suptitle("mochi eval on " + ", ".join(r["name"] for r in pooled["repositories"]))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("runs", type=Path, nargs="+", help="mochi eval --out folders")
    p.add_argument("--out", type=Path, required=True, help="writes OUT.json, OUT.md, OUT.png")
    p.add_argument("--reference", default="retrieval", help="the second baseline (retrieval)")
    args = p.parse_args(argv)
    runs = [load_run(folder) for folder in args.runs]
    if any("base" not in r.scores for r in runs):
        print("every run must score the base configuration", file=sys.stderr)
        return 2
    pooled = pool(runs, args.reference)
    table = markdown(pooled)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(pooled, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(table)
    plot(pooled, args.out.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
