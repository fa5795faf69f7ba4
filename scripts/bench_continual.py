"""Continual learning on a real history: does EWC keep what task 1 taught?

    python scripts/bench_continual.py [--repo .] [--t1 2bdf295] [--t2 c40e6fa] [--steps 60]

Model: SmolLM2-135M (the packaged default), LoRA, CPU. Data: this repository's
own history (or `--repo` any git repository). Task 1 = the code tree at commit
T1 (FIM samples cut at syntax boundaries, the trainer's dataset builder); task 2
= the code units changed between T1 and T2 (`changed_since=T1`). Each task's
samples are split into train and held-out eval (random split, seeded, by unit).

One adapter is trained on task 1; from it, task 2 is trained three ways —
naive fine-tuning, EWC (Fisher of task 1, penalty λ/2·ΣF(θ−θ*)²) and replay
(a share of each batch from task 1's buffer) — and every model is scored on
both eval sets: held-out loss and next-line exact match.

    forgetting(task 1) = loss₁(after task 2) − loss₁(after task 1)
    gain(task 2)       = loss₂(after task 1) − loss₂(after task 2)

Goal: EWC's forgetting ≤ 50 % of naive's, with ≥ 90 % of naive's task-2 gain.
Results: docs/benchmarks/continual.{md,json,png}.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def default_model(data: Path | None) -> Path:
    from mochi.rag.paths import data_dir
    from mochi.server.models import ModelStore

    return ModelStore(data_dir(str(data) if data else "")).default_model()


def build_task(
    repo: Path, model: Path, commit: str, since: str | None, spec: Any, limit: int, eval_limit: int
) -> tuple[list[Any], list[Any], dict[str, Any]]:
    from transformers import AutoTokenizer

    from mochi.rag.prompting import detect_fim_template
    from mochi.trainer.datasets import build_dataset

    tokenizer = AutoTokenizer.from_pretrained(str(model))
    built = build_dataset(
        repo,
        spec,
        fim_template=detect_fim_template(tokenizer.get_vocab()),
        eos=tokenizer.eos_token or "",
        count_tokens=lambda text: len(tokenizer.encode(text, add_special_tokens=False)),
        commit=commit,
        changed_since=since,
    )
    code = ("fim", "fim-context", "doc-to-code")
    train = [s for s in built.train if s.kind in code][:limit]
    held = [s for s in built.eval if s.kind in code][:eval_limit]
    return train, held, {"train": len(train), "eval": len(held), "hash": built.card.sha256}


def score(model: Path, adapter: Path | None, samples: list[Any], limit: int) -> dict[str, float]:
    from mochi.trainer.training.evaluate import evaluate_model

    scores = evaluate_model(model, adapter, samples, limit=limit)
    return {"loss": scores.loss, "next_line_em": scores.next_line_em, "count": scores.count}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--repo", type=Path, default=REPO)
    parser.add_argument("--t1", default="2bdf295", help="task 1 = the tree at this commit")
    parser.add_argument("--t2", default="c40e6fa", help="task 2 = units changed in T1..T2")
    parser.add_argument(
        "--model", type=Path, default=None, help="HF folder (default: SmolLM2-135M)"
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="mochi data dir for the model")
    parser.add_argument("--steps", type=int, default=40, help="training steps of task 1")
    parser.add_argument(
        "--task2-steps", type=int, default=20, help="training steps of task 2 (each variant)"
    )
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=384)
    parser.add_argument("--train-samples", type=int, default=400)
    parser.add_argument("--fisher-samples", type=int, default=32)
    parser.add_argument("--eval-samples", type=int, default=60)
    parser.add_argument(
        "--ewc-lambda",
        default="1000,100000",
        help="comma-separated λ values; each is one EWC run (the goal is checked for each)",
    )
    parser.add_argument("--replay-ratio", type=float, default=0.25)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mochi-bench-continual"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    args = parser.parse_args()

    from mochi.trainer.datasets import DatasetSpec
    from mochi.trainer.evaluation.git_history import resolve_commit
    from mochi.trainer.training.params import TrainParams
    from mochi.trainer.training.run import PreviousAdapter, train_adapter

    model = args.model or default_model(args.data_dir)
    t1, t2 = resolve_commit(args.repo, args.t1), resolve_commit(args.repo, args.t2)
    spec = DatasetSpec(
        context_rate=0.0, docstring_pairs=True, commit_pairs=False, split="random", seed=0
    )
    started = time.perf_counter()
    train1, eval1, card1 = build_task(
        args.repo, model, t1, None, spec, args.train_samples, args.eval_samples
    )
    train2, eval2, card2 = build_task(
        args.repo, model, t2, t1, spec, args.train_samples, args.eval_samples
    )
    print(f"task 1 ({t1[:8]}): {card1}; task 2 ({t1[:8]}..{t2[:8]}): {card2}", flush=True)

    base = TrainParams(
        strategy="lora",
        max_steps=args.steps,
        batch_size=args.batch_size,
        max_seq_len=args.seq_len,
        learning_rate=3e-4,
        seed=0,
        checkpoint_every=max(10, args.steps),
    )
    work = args.workdir
    # Scored below with the same function for every model: no eval inside training.
    first = train_adapter(model, train1, [], base, work / "task1")
    prev = PreviousAdapter(first.output_dir, first.fisher_path, first.replay_path)
    runs: dict[str, Any] = {}
    lambdas = [float(v) for v in str(args.ewc_lambda).split(",") if v.strip()]
    # Task 2's Fisher only matters for a third task: a smaller estimate saves time.
    second = replace(base, max_steps=args.task2_steps, fisher_samples=args.fisher_samples)
    variants = {
        "naive": second,
        **{f"ewc λ={lam:g}": replace(second, ewc_lambda=lam) for lam in lambdas},
        "replay": replace(second, replay_ratio=args.replay_ratio),
    }
    rows: dict[str, dict[str, Any]] = {}
    rows["base"] = {
        "task1": score(model, None, eval1, args.eval_samples),
        "task2": score(model, None, eval2, args.eval_samples),
    }
    rows["after task 1"] = {
        "task1": score(model, first.output_dir, eval1, args.eval_samples),
        "task2": score(model, first.output_dir, eval2, args.eval_samples),
    }
    for name, params in variants.items():
        outcome = train_adapter(
            model,
            train2,
            [],
            params,
            work / ("task2-" + name.replace(" λ=", "-lambda-")),
            previous=prev,
        )
        runs[name] = {"steps": outcome.steps, "train_loss": outcome.train_loss}
        rows[name] = {
            "task1": score(model, outcome.output_dir, eval1, args.eval_samples),
            "task2": score(model, outcome.output_dir, eval2, args.eval_samples),
        }
        print(f"{name}: {rows[name]}", flush=True)

    after1 = rows["after task 1"]
    summary: dict[str, dict[str, float]] = {}
    for name in variants:
        forgetting = rows[name]["task1"]["loss"] - after1["task1"]["loss"]
        gain = after1["task2"]["loss"] - rows[name]["task2"]["loss"]
        summary[name] = {"forgetting": forgetting, "gain": gain}
    naive = summary["naive"]
    for name in variants:
        s = summary[name]
        s["forgetting_vs_naive"] = ratio(s["forgetting"], naive["forgetting"])
        s["gain_vs_naive"] = ratio(s["gain"], naive["gain"])
    ewc_met = {
        name: s["forgetting_vs_naive"] <= 0.5 and s["gain_vs_naive"] >= 0.9
        for name, s in summary.items()
        if name.startswith("ewc")
    }
    goal_met = any(ewc_met.values())
    result = {
        "repo": str(args.repo),
        "t1": t1,
        "t2": t2,
        "model": str(model),
        "params": asdict(base),
        "task2_steps": args.task2_steps,
        "ewc_lambdas": lambdas,
        "ewc_goal_met": ewc_met,
        "replay_ratio": args.replay_ratio,
        "tasks": {"task1": card1, "task2": card2},
        "rows": rows,
        "runs": runs,
        "summary": summary,
        "goal_met": goal_met,
        "seconds": time.perf_counter() - started,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "continual.json").write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(args.out / "continual.md", result)
    plot(args.out / "continual.png", rows)
    print(json.dumps(summary, indent=2))
    print(f"EWC goal (forgetting ≤ 50 % of naive, gain ≥ 90 %): {'met' if goal_met else 'MISSED'}")
    return 0


def ratio(value: float, reference: float) -> float:
    """value ÷ reference; NaN when the reference is not positive (no forgetting or gain)."""
    return value / reference if reference > 0 else float("nan")


def write_markdown(path: Path, r: dict[str, Any]) -> None:
    lines = [
        "# Continual learning: naive fine-tuning vs EWC vs replay",
        "",
        f"Repository `{r['repo']}`: task 1 = tree at `{r['t1'][:10]}`, "
        f"task 2 = units changed in `{r['t1'][:10]}..{r['t2'][:10]}`. "
        f"Model `{r['model']}`, LoRA, CPU.",
        f"Samples: task 1 {r['tasks']['task1']}, task 2 {r['tasks']['task2']}.",
        f"EWC λ ∈ {r['ewc_lambdas']}, replay ratio = {r['replay_ratio']}, "
        f"{r['params']['max_steps']} steps on task 1 and {r['task2_steps']} on task 2, "
        f"batch {r['params']['batch_size']}, sequences of {r['params']['max_seq_len']} tokens.",
        "",
        "| model | task-1 loss | task-1 next-line EM | task-2 loss | task-2 next-line EM |",
        "|---|---|---|---|---|",
    ]
    for name, row in r["rows"].items():
        lines.append(
            f"| {name} | {row['task1']['loss']:.4f} | {row['task1']['next_line_em']:.3f} "
            f"| {row['task2']['loss']:.4f} | {row['task2']['next_line_em']:.3f} |"
        )
    lines += [
        "",
        "| variant | forgetting (task 1) | gain (task 2) | forgetting ÷ naive | gain ÷ naive |",
        "|---|---|---|---|---|",
    ]
    for name, s in r["summary"].items():
        lines.append(
            f"| {name} | {s['forgetting']:.4f} | {s['gain']:.4f} "
            f"| {s.get('forgetting_vs_naive', 1.0):.2f} | {s.get('gain_vs_naive', 1.0):.2f} |"
        )
    lines += [
        "",
        f"Goal (EWC forgetting ≤ 50 % of naive, task-2 gain ≥ 90 % of naive): "
        f"**{'met' if r['goal_met'] else 'missed'}**.",
        "",
        f"Re-run: `{r['command']}` ({r['seconds'] / 60:.1f} min on this machine).",
        "",
        "![continual](continual.png)",
        "",
    ]
    path.write_text("\n".join(lines))


def plot(path: Path, rows: dict[str, dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric, title in (
        (axes[0], "loss", "held-out loss"),
        (axes[1], "next_line_em", "next-line EM"),
    ):
        xs = range(len(names))
        ax.bar(
            [x - 0.2 for x in xs], [rows[n]["task1"][metric] for n in names], 0.4, label="task 1"
        )
        ax.bar(
            [x + 0.2 for x in xs], [rows[n]["task2"][metric] for n in names], 0.4, label="task 2"
        )
        ax.set_xticks(list(xs), names, rotation=20)
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    sys.exit(main())
