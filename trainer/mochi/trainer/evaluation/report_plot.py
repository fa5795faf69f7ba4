"""`report.png`: bars with 95% CI whiskers per configuration and metric (matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mochi.trainer.evaluation.metrics import METRICS
from mochi.trainer.evaluation.report_markdown import LABELS


def plot_report(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    subsets = [(key, report[key]) for key in ("all", "api") if report[key]["n"]]
    fig, axes = plt.subplots(1, len(subsets), figsize=(6 * len(subsets), 4), squeeze=False)
    for ax, (key, subset) in zip(axes[0], subsets, strict=True):
        names = list(subset["configs"])
        width = 0.8 / max(len(names), 1)
        for i, name in enumerate(names):
            entry = subset["configs"][name]
            values = [100 * (entry[m]["value"] or 0.0) for m in METRICS]
            low = [v - 100 * (entry[m]["low"] or 0.0) for v, m in zip(values, METRICS, strict=True)]
            high = [
                100 * (entry[m]["high"] or 0.0) - v for v, m in zip(values, METRICS, strict=True)
            ]
            xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(METRICS))]
            ax.bar(xs, values, width, yerr=[low, high], capsize=3, label=name)
        ax.set_xticks(range(len(METRICS)), [LABELS[m] for m in METRICS])
        ax.set_ylim(0, 100)
        ax.set_ylabel("%")
        ax.set_title(f"{'all tasks' if key == 'all' else 'API subset'} (n={subset['n']})")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
