"""Mixture of LoRA experts against one LoRA, per domain, through the served pipeline
(issue 12):

    python scripts/bench_moe.py [--repo .] [--since ad25384] [--seeds 0,1,2] [--steps 60]

The trainer sees the repository's tree at the cut (`--since`); the tasks are the lines
the commits after it add, extracted as `mochi eval` extracts them, per language, and put
in the domain their file falls in (`--rule language`: the file's language, or
`directory`: its top folder). With the same total budget of `--steps` optimizer steps
per seed:

    base     the model alone
    single   one LoRA on every sample of the cut
    routed   one expert per domain (the trainer's expert code; the steps split by the
             domains' sample shares, `--split share`, or equally), served by the
             LearnedRouter over the published set's gate (trained on the held-out
             samples' lowest-loss labels; its centroids when those name one expert)
    oracle   each task written by its own domain's expert

Completions go through the server's CompletionEngine (prompt, generator, post-
processing) with no prefix reuse. Edit similarity and exact match per domain and pooled,
paired bootstrap CIs of routed − single, router agreement with the oracle (and with the
lowest-loss expert on each task, `--best-loss`), `LearnedRouter.route`'s time.

Writes moe.json, moe.md and moe.png to `--out`; moe.json keeps each finished seed, and a
rerun with the same settings resumes after the last one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moe_report import figures, markdown, plot
from moe_score import (
    BEST_LOSS,
    CONFIGS,
    PinnedEngines,
    TaskSettings,
    domain_tasks,
    learned_router,
    lowest_loss_experts,
    score_seed,
    served_generator,
)
from moe_train import SINGLE, CutData, TrainSettings, cut_data, log, train_seed

from mochi.rag.protocols import Embedder
from mochi.rag.routing.features import EmbedTexts
from mochi.trainer.evaluation import Task
from mochi.trainer.evaluation.git_history import resolve_commit

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SINCE = "ad25384"  # the parent of 592fb8e: the editors' TypeScript and Lua change after it
NAME = "moe"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repo", type=Path, default=REPO)
    p.add_argument("--since", default=DEFAULT_SINCE, help="the cut: what training sees")
    p.add_argument("--until", default="HEAD", help="the last commit tasks come from")
    p.add_argument("--rule", default="language", choices=("language", "directory"))
    p.add_argument("--min-samples", type=int, default=8, help="smaller domains join another")
    p.add_argument("--seeds", default="0,1,2", help="training seeds, comma-separated")
    p.add_argument("--steps", type=int, default=60, help="total optimizer steps per seed")
    p.add_argument("--split", default="share", choices=("share", "equal"), help="experts' steps")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--seq-len", type=int, default=256, help="tokens per training sample")
    p.add_argument("--router-samples", type=int, default=96, help="held-out samples for the gate")
    p.add_argument("--max-tasks-per-domain", type=int, default=30)
    p.add_argument("--prompt-tokens", type=int, default=1024, help="the server's prompt budget")
    p.add_argument("--max-new-tokens", type=int, default=48)
    p.add_argument("--backend", default="auto", help="the server's model.backend")
    p.add_argument("--best-loss", action="store_true", help="also the lowest-loss expert per task")
    p.add_argument("--model", type=Path, help="model folder (default: the packaged SmolLM2-135M)")
    p.add_argument("--note", default="", help="a sentence for moe.md's set-up (e.g. the load)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/mochi-bench-moe"))
    p.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    return p.parse_args(argv)


def packaged_model() -> Path:
    from mochi.rag.paths import data_dir
    from mochi.server.models import ModelStore, default_model

    return default_model(ModelStore(data_dir()))


def settings_of(args: argparse.Namespace, model: Path, cut: str, until: str) -> dict[str, Any]:
    """What a cached seed must share with this run to be reused."""
    keys = [
        "rule",
        "min_samples",
        "steps",
        "split",
        "batch_size",
        "seq_len",
        "router_samples",
        "max_tasks_per_domain",
        "prompt_tokens",
        "max_new_tokens",
        "backend",
        "best_loss",
    ]
    return {
        "repo": str(args.repo.resolve()),
        "since": cut,
        "until": until,
        "model": str(model),
        **{key: getattr(args, key) for key in keys},
    }


def settings_key(args: argparse.Namespace, model: Path) -> str:
    """A seed's training folder name: its models depend on these settings, so a run
    with others trains anew instead of reading another run's adapters."""
    keys = ("since", "rule", "min_samples", "steps", "split", "batch_size", "seq_len")
    text = json.dumps([str(model), *(getattr(args, k) for k in keys), args.router_samples])
    return "train-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def read_cache(path: Path, settings: dict[str, Any]) -> dict[str, Any]:
    """The finished seeds and base texts of an earlier run with the same settings."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"seeds": {}, "base": {}}
    if old.get("settings") != settings:
        return {"seeds": {}, "base": {}}
    return {"seeds": old.get("seeds", {}), "base": old.get("base", {})}


def machine() -> str:
    import torch

    load = os.getloadavg()[0]
    return (
        f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), Python {platform.python_version()}; "
        f"one-minute load average {load:.1f} at the end"
    )


def run_seed(
    seed: int,
    args: argparse.Namespace,
    model: Path,
    data: CutData,
    tasks: dict[str, list[Task]],
    embed: EmbedTexts,
    base: dict[str, str],
    train: TrainSettings,
) -> dict[str, Any]:
    """Train and score one seed: its json entry."""
    from mochi.rag.routing.expert_set import read_expert_set
    from mochi.trainer.evaluation import DecodingSettings

    started = time.perf_counter()
    work = args.workdir / settings_key(args, model) / f"seed-{seed}"
    trained = train_seed(model, data, train, embed, seed, work)
    trained_s = time.perf_counter() - started
    best = None
    if args.best_loss:
        folder = trained.expert_set
        found = read_expert_set(folder)
        paths = {c.name: found.adapter_path(folder, c) for c in found.experts}
        everything = [t for items in tasks.values() for t in items]
        best = lowest_loss_experts(model, paths, everything, args.seq_len)
    decoding = DecodingSettings(
        max_new_tokens=args.max_new_tokens, prompt_tokens=args.prompt_tokens
    )
    generator = served_generator(model, {SINGLE: trained.single}, args.backend, decoding.dtype)
    try:
        router = learned_router(trained.expert_set, generator, embed)
        log(f"seed {seed}: scoring on {generator.info().backend}")
        engines = PinnedEngines(generator, decoding)
        scores = score_seed(tasks, engines, router, base, SINGLE, best)
    finally:
        generator.close()
    return {
        **scores.to_json(),
        "steps": trained.steps,
        "gate": trained.gate,
        "gate_labels": trained.labels,
        "train_s": round(trained_s, 1),
        "completions": engines.completed,
        "completion_s": round(engines.seconds, 1),
        "wall_s": round(time.perf_counter() - started, 1),
    }


def main(argv: Sequence[str] | None = None, *, embedder: Embedder | None = None) -> int:
    """Run the benchmark; `embedder` stands in for the index's embedding model (tests)."""
    from mochi.rag.routing.expert_set import ExpertSet
    from mochi.rag.routing.features import passage_embedding
    from mochi.trainer.jobs.handlers.train_experts import default_embedder

    args = parse_args(argv)
    started = time.perf_counter()
    model = (args.model or packaged_model()).resolve()
    cut, until = resolve_commit(args.repo, args.since), resolve_commit(args.repo, args.until)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    settings = settings_of(args, model, cut, until)
    args.out.mkdir(parents=True, exist_ok=True)
    json_path = args.out / f"{NAME}.json"
    cache = read_cache(json_path, settings)
    embed = passage_embedding(embedder or default_embedder())
    train = TrainSettings(
        args.steps,
        args.batch_size,
        args.seq_len,
        args.split,
        args.rule,
        args.min_samples,
        args.router_samples,
    )
    data = cut_data(args.repo, cut, model, train, embed, args.workdir / cut[:12])
    cards = tuple(plan.card for plan in data.plans)
    tasks = domain_tasks(
        args.repo,
        cut,
        until,
        ExpertSet("", args.rule, "", cards),
        TaskSettings(args.max_tasks_per_domain),
    )
    log("tasks: " + ", ".join(f"{d} {len(t)}" for d, t in tasks.items()))
    report: dict[str, Any] = {
        "settings": settings,
        "command": shlex.join(["python", "scripts/bench_moe.py", *(argv or sys.argv[1:])]),
        "domains": domain_facts(data, tasks),
        "seeds": cache["seeds"],
        "base": cache["base"],
    }
    for seed in seeds:
        if str(seed) in report["seeds"]:
            log(f"seed {seed}: cached in {json_path}")
            continue
        report["seeds"][str(seed)] = run_seed(
            seed, args, model, data, tasks, embed, report["base"], train
        )
        json_path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    done = [report["seeds"][str(s)] for s in seeds]
    configs = [*CONFIGS, BEST_LOSS] if args.best_loss else list(CONFIGS)
    report["configs"] = configs
    report["figures"] = figures(tasks, done, configs)
    report["wall_s"] = round(time.perf_counter() - started, 1)
    report["intro"] = intro(report, seeds, cut, until, tasks)
    report["setup"] = setup(report, args, model)
    json_path.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    (args.out / f"{NAME}.md").write_text(markdown(report), encoding="utf-8")
    plot(report, args.out / f"{NAME}.png")
    for goal in report["figures"]["goals"]:
        print(f"{'met   ' if goal['met'] else 'MISSED'} {goal['goal']}: {goal['measured']}")
    print(f"report: {args.out / (NAME + '.md')}")
    return 0


def domain_facts(data: CutData, tasks: dict[str, list[Task]]) -> dict[str, Any]:
    return {
        plan.card.name: {
            "languages": list(plan.card.languages),
            "paths": list(plan.card.paths),
            "train_samples": len(plan.train),
            "held_out_samples": len(plan.eval),
            "tasks": [
                {"id": t.id, "language": t.language, "truth": t.truth}
                for t in tasks.get(plan.card.name, [])
            ],
        }
        for plan in data.plans
    }


def intro(
    report: dict[str, Any], seeds: list[int], cut: str, until: str, tasks: dict[str, list[Task]]
) -> str:
    s = report["settings"]
    counts = ", ".join(f"{d} {len(t)}" for d, t in tasks.items())
    return (
        f"Training sees this repository's tree at `{cut[:12]}`; the tasks are lines the "
        f"commits up to `{until[:12]}` add ({counts} tasks), domains by `{s['rule']}`. "
        f"Seeds {', '.join(map(str, seeds))}: each trains a single LoRA for {s['steps']} "
        f"steps and experts whose steps sum to {s['steps']} (split by {s['split']}), "
        f"batch {s['batch_size']}, {s['seq_len']} tokens a sample, mochi's recipe otherwise."
    )


def setup(report: dict[str, Any], args: argparse.Namespace, model: Path) -> list[str]:
    seeds_s = sum(found["wall_s"] for found in report["seeds"].values())
    lines = [
        f"- Model `{model.name}`, back end `{args.backend}`, prompt budget "
        f"{args.prompt_tokens} tokens, at most {args.max_new_tokens} new tokens, greedy, one "
        f"line, no retrieval, no prefix reuse.",
        f"- Machine: {machine()}; {datetime.now(UTC):%Y-%m-%dT%H:%MZ}. Training and "
        f"scoring took {seeds_s / 60:.1f} min over the seeds (each seed's wall below; the "
        f"dataset, file embeddings and tasks come on top the first time).",
    ]
    for name, d in report["domains"].items():
        lines.append(
            f"- Domain `{name}` ({', '.join(d['languages'])}; {', '.join(d['paths'])}): "
            f"{d['train_samples']} training samples, {d['held_out_samples']} held out."
        )
    for seed, found in report["seeds"].items():
        lines.append(
            f"- Seed {seed}: experts' steps {found['steps']}, gate `{found['gate']}` "
            f"(held-out labels {found['gate_labels']}), training {found['train_s']:.0f} s, "
            f"all {found['wall_s']:.0f} s."
        )
    if args.note:
        lines.append(f"- {args.note}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
