"""scripts/bench_moe.py, figures: scores per domain and pooled (each task's score the
mean over the seeds; bootstrap CIs over tasks, paired for routed − single), the spread
of the seeds' means, router agreement, routing time and the issue's goals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mochi.trainer.evaluation import (
    Task,
    bootstrap_mean,
    bootstrap_paired_difference,
    edit_similarity,
    exact_match,
)

METRICS = {"es": edit_similarity, "em": exact_match}
POOLED = "pooled"
AGREEMENT_GOAL = 0.8
ROUTE_MS_GOAL = 5.0
MIN_SEEDS = 3


def per_seed_scores(
    tasks: Sequence[Task], predictions: Mapping[str, str], metric: str
) -> list[float]:
    score = METRICS[metric]
    return [score(predictions[t.id], t.truth) for t in tasks]


def config_scores(
    tasks: Sequence[Task], seeds: Sequence[Mapping[str, Any]], config: str, metric: str
) -> np.ndarray:
    """(seeds, tasks) scores of one configuration."""
    return np.array([per_seed_scores(tasks, s["predictions"][config], metric) for s in seeds])


def summary(
    tasks: Sequence[Task], seeds: Sequence[Mapping[str, Any]], configs: Sequence[str]
) -> dict[str, Any]:
    """Per configuration and metric: the mean with a CI over tasks, each seed's mean;
    and routed − single paired."""
    out: dict[str, Any] = {"n": len(tasks), "configs": {}}
    for config in configs:
        out["configs"][config] = {}
        for metric in METRICS:
            table = config_scores(tasks, seeds, config, metric)
            estimate = bootstrap_mean(table.mean(axis=0).tolist())
            out["configs"][config][metric] = {
                **estimate.to_json(),
                "seeds": table.mean(axis=1).tolist(),
            }
    out["routed_minus_single"] = {
        metric: difference(tasks, seeds, "routed", "single", metric) for metric in METRICS
    }
    out["oracle_minus_single"] = {
        metric: difference(tasks, seeds, "oracle", "single", metric) for metric in METRICS
    }
    return out


def difference(
    tasks: Sequence[Task], seeds: Sequence[Mapping[str, Any]], a: str, b: str, metric: str
) -> dict[str, Any]:
    first, second = config_scores(tasks, seeds, a, metric), config_scores(tasks, seeds, b, metric)
    estimate = bootstrap_paired_difference(
        first.mean(axis=0).tolist(), second.mean(axis=0).tolist()
    )
    return {**estimate.to_json(), "seeds": (first - second).mean(axis=1).tolist()}


def agreement(
    tasks: Sequence[Task],
    domain_of: Mapping[str, str],
    seeds: Sequence[Mapping[str, Any]],
    key: str,
) -> dict[str, Any]:
    """Share of tasks routed to the domain's expert (`key` "domain") or to the lowest-
    loss expert (`key` "best_loss"), per seed and over all seeds."""
    shares = []
    for seed in seeds:
        wanted = domain_of if key == "domain" else seed.get("best_loss", {})
        if not wanted:
            return {}
        hits = [seed["routes"][t.id] == wanted[t.id] for t in tasks]
        shares.append(float(np.mean(hits)))
    return {"value": float(np.mean(shares)), "seeds": shares}


def route_time(seeds: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    times = np.array([ms for seed in seeds for ms in seed["route_ms"]])
    if times.size == 0:
        return {}
    p50, p95 = np.percentile(times, [50, 95])
    return {"p50_ms": float(p50), "p95_ms": float(p95), "n": int(times.size)}


def figures(
    tasks: Mapping[str, Sequence[Task]],
    seeds: Sequence[Mapping[str, Any]],
    configs: Sequence[str],
) -> dict[str, Any]:
    domain_of = {t.id: domain for domain, items in tasks.items() for t in items}
    groups = {
        **{d: list(items) for d, items in tasks.items()},
        POOLED: [t for i in tasks.values() for t in i],
    }
    out: dict[str, Any] = {"domains": {}}
    for name, items in groups.items():
        found = summary(items, seeds, configs)
        found["agreement"] = agreement(items, domain_of, seeds, "domain")
        found["agreement_best_loss"] = agreement(items, domain_of, seeds, "best_loss")
        out["domains"][name] = found
    out["route_time"] = route_time(seeds)
    out["goals"] = goals(out, len(seeds))
    return out


def goals(found: Mapping[str, Any], seeds: int) -> list[dict[str, Any]]:
    domains = found["domains"]
    pooled = domains[POOLED]["routed_minus_single"]
    checks = []
    for metric in METRICS:
        value = pooled[metric]["value"]
        checks.append(
            {
                "goal": f"routed ≥ single on average ({metric.upper()}, pooled)",
                "met": value is not None and value >= 0,
                "measured": _delta(pooled[metric]),
            }
        )
    worse = [
        f"{name} {metric.upper()} {_delta(d['routed_minus_single'][metric])}"
        for name, d in domains.items()
        if name != POOLED
        for metric in METRICS
        if (d["routed_minus_single"][metric]["high"] or 0.0) < 0
    ]
    checks.append(
        {
            "goal": "routed not worse than single on any domain beyond noise (95 % CI below 0)",
            "met": not worse,
            "measured": "; ".join(worse) or "no domain's CI lies below 0",
        }
    )
    checks.append(
        {
            "goal": f"spread over ≥ {MIN_SEEDS} seeds",
            "met": seeds >= MIN_SEEDS,
            "measured": f"{seeds} seed(s)",
        }
    )
    share = domains[POOLED]["agreement"].get("value")
    checks.append(
        {
            "goal": f"router agrees with the oracle on ≥ {AGREEMENT_GOAL:.0%} of tasks",
            "met": share is not None and share >= AGREEMENT_GOAL,
            "measured": f"{share:.1%}" if share is not None else "n/a",
        }
    )
    p50 = found["route_time"].get("p50_ms")
    checks.append(
        {
            "goal": f"routing adds ≤ {ROUTE_MS_GOAL:g} ms p50",
            "met": p50 is not None and p50 <= ROUTE_MS_GOAL,
            "measured": f"{p50:.1f} ms p50" if p50 is not None else "n/a",
        }
    )
    return checks


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}"


def _delta(d: Mapping[str, Any]) -> str:
    if d["value"] is None:
        return "n/a"
    return f"{100 * d['value']:+.1f} [{100 * d['low']:+.1f}, {100 * d['high']:+.1f}] pts"


def _spread(seeds: Sequence[float]) -> str:
    return f"{100 * min(seeds):.1f}–{100 * max(seeds):.1f}" if len(seeds) > 1 else "—"


def markdown(report: Mapping[str, Any]) -> str:
    found = report["figures"]
    configs = report["configs"]
    lines = [
        "# Mixture of LoRA experts on this repository (issue 12)",
        "",
        report["intro"],
        "",
        "## Scores per domain",
        "",
        "ES and EM in percent: the mean over tasks of each task's score averaged over the "
        "seeds, with a 95 % bootstrap CI over tasks; *seeds* is the range of the seeds' "
        "own means. Δ is routed − single, paired by task.",
        "",
        "| domain | n | configuration | ES % | ES seeds | EM % | EM seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, d in found["domains"].items():
        for config in configs:
            es, em = d["configs"][config]["es"], d["configs"][config]["em"]
            lines.append(
                f"| {name} | {d['n']} | {config} | {_pct(es['value'])} "
                f"[{_pct(es['low'])}, {_pct(es['high'])}] | {_spread(es['seeds'])} | "
                f"{_pct(em['value'])} [{_pct(em['low'])}, {_pct(em['high'])}] | "
                f"{_spread(em['seeds'])} |"
            )
    lines += [
        "",
        "| domain | Δ ES routed − single | Δ EM routed − single | Δ ES oracle − single "
        "| agreement with the domain's expert | agreement with the lowest-loss expert |",
        "|---|---|---|---|---|---|",
    ]
    for name, d in found["domains"].items():
        agree, best = d["agreement"], d["agreement_best_loss"]
        lines.append(
            f"| {name} | {_delta(d['routed_minus_single']['es'])} | "
            f"{_delta(d['routed_minus_single']['em'])} | "
            f"{_delta(d['oracle_minus_single']['es'])} | "
            f"{_pct(agree.get('value'))} % | "
            f"{_pct(best.get('value')) + ' %' if best else 'not computed'} |"
        )
    timing = found["route_time"]
    lines += [
        "",
        "![scores per domain](moe.png)",
        "",
        "## Routing time",
        "",
        f"`LearnedRouter.route` per task (the embedding of the code before the cursor and "
        f"the gate), timed around the call: p50 {timing.get('p50_ms', float('nan')):.1f} ms, "
        f"p95 {timing.get('p95_ms', float('nan')):.1f} ms over {timing.get('n', 0)} calls.",
        "",
        "## Goals",
        "",
        "| goal | met | measured |",
        "|---|---|---|",
    ]
    lines += [
        f"| {g['goal']} | {'yes' if g['met'] else '**no**'} | {g['measured']} |"
        for g in found["goals"]
    ]
    lines += ["", "## Method", "", *method(report["settings"])]
    lines += [
        "",
        "## Set-up",
        "",
        *report["setup"],
        "",
        "## Command",
        "",
        "```",
        report["command"],
        "```",
        "",
    ]
    return "\n".join(lines)


def method(settings: Mapping[str, Any]) -> list[str]:
    """How the configurations were built, in the words of the run's settings."""
    steps, split = settings["steps"], settings["split"]
    shares = (
        "each domain's share of the training samples (largest remainders, at least one step each)"
        if split == "share"
        else "equal parts"
    )
    return [
        f"- Budget: the single LoRA trains {steps} steps on every sample; the experts' "
        f"steps sum to the same {steps}, split by {shares}. Both use mochi's recipe "
        "(40-line windows of every code file, learning rate 5e-4), the warm-up a tenth "
        "of each run.",
        f"- Domains: the trainer's `partition` (rule `{settings['rule']}`, min_samples "
        f"{settings['min_samples']}: a smaller domain joins the one of nearest centroid). "
        "Tasks are extracted per language as `mochi eval` does, then each goes to the "
        "expert whose domain its file falls in (the trainer's `ExpertAssigner`), so a "
        "domain's tasks include the languages it absorbed; that expert is the oracle.",
        "- Gate: each expert's loss on held-out samples (`experts.losses`), the lowest as "
        "the label, `train_router` on the route features (the index's embedding model); "
        f"at most {settings['router_samples']} samples, the same number from each domain "
        "(the train-experts job takes the first `router_samples` in domain order). When "
        "the labels name one expert no gate is trained and the set's centroids route, as "
        "the server does then.",
        '- Routed: the `LearnedRouter` that `build_router` makes for `[routing] mode = "learned"` '
        "over the published set (defaults: threshold 0.4, below it the base model "
        "answers; top_k 1).",
        "- Completions: the server's `CompletionEngine` (no retrieval, no token memory), "
        "one per adapter; a (task, adapter) is completed once and shared by the "
        "configurations that chose that adapter (greedy, cold cache: the same text).",
        "- Routing time: `LearnedRouter.route` timed around the call, on the engine's own "
        "route query; the first call (it loads the embedding model) is not counted.",
    ]


def plot(report: Mapping[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = report["figures"]["domains"]
    configs = report["configs"]
    names = list(found)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    width = 0.8 / len(configs)
    for ax, metric in zip(axes, ("es", "em"), strict=True):
        for i, config in enumerate(configs):
            stats = [found[n]["configs"][config][metric] for n in names]
            values = np.array([100 * (s["value"] or 0.0) for s in stats])
            low = values - np.array([100 * (s["low"] or 0.0) for s in stats])
            high = np.array([100 * (s["high"] or 0.0) for s in stats]) - values
            x = np.arange(len(names)) + (i - (len(configs) - 1) / 2) * width
            ax.bar(x, values, width, yerr=[low, high], capsize=3, label=config)
        ax.set_xticks(np.arange(len(names)))
        ax.set_xticklabels([f"{n}\n(n={found[n]['n']})" for n in names])
        ax.set_ylabel(f"{metric.upper()} % (95 % CI over tasks)")
        ax.set_title("edit similarity" if metric == "es" else "exact match")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
