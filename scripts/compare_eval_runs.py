"""Paired comparison of two `mochi eval` run folders on the tasks they share.

    python scripts/compare_eval_runs.py RUN_A RUN_B [--config base] [--out FILE.json]

For an ablation across runs (e.g. token healing on in RUN_B, off in RUN_A, with
`mochi eval --no-token-healing`): per metric, each run's mean with a bootstrap 95 %
interval and the paired difference B − A, computed with the evaluation's own metrics and
bootstrap; `indentation` is the share of predictions that start in the truth's column.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mochi.trainer.evaluation.bootstrap import bootstrap_mean, bootstrap_paired_difference
from mochi.trainer.evaluation.metrics import METRICS, score_line
from mochi.trainer.evaluation.results import read_results
from mochi.trainer.evaluation.tasks import read_tasks


def same_indent(prediction: str, truth: str) -> float:
    """1.0 when the prediction starts in the truth's column (its leading whitespace)."""
    return float(
        prediction[: len(prediction) - len(prediction.lstrip())]
        == truth[: len(truth) - len(truth.lstrip())]
    )


def predictions(run: Path, config: str) -> dict[str, str]:
    return {
        task: r.prediction
        for (name, task), r in read_results(run / "results.jsonl").items()
        if name == config
    }


def score(metric: str, prediction: str, truth: str) -> float:
    if metric == "indentation":
        return same_indent(prediction, truth)
    return score_line(prediction, truth).get(metric)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("run_a", type=Path)
    p.add_argument("run_b", type=Path)
    p.add_argument("--config", default="base", help="the configuration to compare (default base)")
    p.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = p.parse_args(argv)

    truths = {t.id: t.truth for t in read_tasks(args.run_a / "tasks.jsonl")}
    a, b = predictions(args.run_a, args.config), predictions(args.run_b, args.config)
    shared = sorted(set(a) & set(b) & set(truths))
    if not shared:
        print("the two runs share no scored tasks", file=sys.stderr)
        return 2
    figures: dict[str, object] = {
        "n": len(shared),
        "config": args.config,
        "a": str(args.run_a),
        "b": str(args.run_b),
    }
    print(f"{len(shared)} shared tasks, configuration {args.config!r} (values in %)")
    print("| metric | A | B | B − A |\n|---|---|---|---|")
    for metric in (*METRICS, "indentation"):
        xa = [score(metric, a[t], truths[t]) for t in shared]
        xb = [score(metric, b[t], truths[t]) for t in shared]
        ma, mb = bootstrap_mean(xa), bootstrap_mean(xb)
        diff = bootstrap_paired_difference(xb, xa)
        figures[metric] = {"a": ma.to_json(), "b": mb.to_json(), "b_minus_a": diff.to_json()}
        cells = [f"{100 * e.value:.1f} [{100 * e.low:.1f}, {100 * e.high:.1f}]" for e in (ma, mb)]
        delta = f"{100 * diff.value:+.1f} [{100 * diff.low:+.1f}, {100 * diff.high:+.1f}]"
        print(f"| {metric} | {cells[0]} | {cells[1]} | {delta} |")
    if args.out is not None:
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
