"""scripts/bench_moe.py, training: the repository at the cut as the trainer's dataset,
cut into domains, and for one seed, with the same total steps, one LoRA on all samples
and one expert per domain (the trainer's expert code), the gate trained on the held-out
samples' lowest-loss labels and the set published as the server loads it."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mochi.rag.routing.features import EmbedTexts
from mochi.trainer.datasets import BuiltDataset
from mochi.trainer.experts.domains import Partition
from mochi.trainer.experts.plan import DomainPlan
from mochi.trainer.samples import Sample

SINGLE = "single"  # the adapter name of the one LoRA on all data
SET_NAME = "moe"
FISHER_SAMPLES = 2  # the Fisher is not what this benchmark measures


@dataclass(frozen=True)
class TrainSettings:
    steps: int  # the total budget: the single LoRA's steps, the experts' sum
    batch_size: int
    seq_len: int
    split: str  # "share" (steps by sample share) or "equal"
    rule: str
    min_samples: int
    router_samples: int  # held-out samples the gate learns from (split equally by domain)


@dataclass(frozen=True)
class CutData:
    built: BuiltDataset
    found: Partition
    plans: list[DomainPlan]
    embeddings: dict[str, list[float]]


@dataclass(frozen=True)
class TrainedSeed:
    single: Path  # the single LoRA's adapter folder
    expert_set: Path  # the published set's folder (expert_set.json, router.json)
    steps: dict[str, int]  # expert -> its steps
    gate: str  # "linear" or "centroid" (no gate: the held-out labels had one expert)
    labels: dict[str, int]  # expert -> held-out samples it was best on


def log(message: str) -> None:
    """Progress on stderr, with the time of day (stages are minutes apart on a CPU)."""
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def cut_data(
    repo: Path, cut: str, model: Path, settings: TrainSettings, embed: EmbedTexts, work: Path
) -> CutData:
    """The dataset at the cut (kept in `work`, so a rerun reads the same samples), its
    domains and their held-out samples, as the train-experts job cuts them."""
    from mochi.trainer.datasets import DatasetSpec, build_dataset, load_dataset, save_dataset
    from mochi.trainer.experts.domains import partition
    from mochi.trainer.experts.file_embeddings import file_embeddings
    from mochi.trainer.experts.plan import fresh_plan
    from mochi.trainer.jobs.handlers.tokenizer import tokenizer_facts
    from mochi.trainer.training.recipe import with_recipe

    folder = work / "dataset"
    if (folder / "card.json").is_file():
        built = load_dataset(folder)
    else:
        log(f"dataset: the tree at {cut[:12]}")
        facts = tokenizer_facts(model)
        dataset_params, _ = with_recipe({"seed": 0}, {})
        built = build_dataset(
            repo,
            DatasetSpec(**dataset_params),
            fim_template=facts.fim_template,
            eos=facts.eos,
            count_tokens=facts.count_tokens,
            commit=cut,
        )
        save_dataset(folder, built)
    cached = work / "file_embeddings.json"
    if cached.is_file():
        embeddings = json.loads(cached.read_text(encoding="utf-8"))
    else:
        log(f"embeddings: the files of {len(built.train) + len(built.eval)} samples")
        embeddings = file_embeddings([*built.train, *built.eval], embed)
        cached.write_text(json.dumps(embeddings), encoding="utf-8")
    found = partition(
        built.train, settings.rule, min_samples=settings.min_samples, embeddings=embeddings
    )
    return CutData(built, found, fresh_plan(found, built.eval, embeddings), embeddings)


def split_steps(sizes: Mapping[str, int], total: int, how: str) -> dict[str, int]:
    """`total` steps over the domains, by sample share (largest remainders) or equally;
    every domain gets at least one step, so the sum exceeds `total` only when there are
    more domains than steps."""
    if how not in ("share", "equal"):
        raise ValueError(f"split must be 'share' or 'equal', got {how!r}")
    weights = {name: float(n if how == "share" else 1) for name, n in sizes.items()}
    whole = sum(weights.values())
    exact = {name: total * w / whole for name, w in weights.items()}
    steps = {name: int(x) for name, x in exact.items()}
    by_remainder = sorted(exact, key=lambda n: (-(exact[n] - steps[n]), n))
    for name in by_remainder[: total - sum(steps.values())]:
        steps[name] += 1
    return {name: max(1, n) for name, n in steps.items()}


def train_params(settings: TrainSettings, steps: int, seed: int) -> Any:
    """mochi's recipe (learning rate, data) at `steps`, the warm-up a tenth of the run."""
    from mochi.trainer.training.params import TrainParams
    from mochi.trainer.training.recipe import with_recipe

    _, params = with_recipe(
        {},
        {
            "max_steps": steps,
            "seed": seed,
            "batch_size": settings.batch_size,
            "max_seq_len": settings.seq_len,
            "warmup_steps": steps // 10,
            "fisher_samples": FISHER_SAMPLES,
            "checkpoint_every": 0,
        },
    )
    return TrainParams(**params)


def train_single(
    model: Path, data: CutData, settings: TrainSettings, seed: int, work: Path
) -> Path:
    from mochi.trainer.training.run import train_adapter

    ready = work / "single" / "output"
    if (ready / "adapter_config.json").is_file():
        return ready
    log(f"seed {seed}: the single LoRA, {settings.steps} steps on {len(data.built.train)} samples")
    params = train_params(settings, settings.steps, seed)
    return train_adapter(model, data.built.train, [], params, work / "single").output_dir


def train_experts(
    model: Path, data: CutData, settings: TrainSettings, seed: int, work: Path
) -> tuple[dict[str, Path], dict[str, int]]:
    """Expert name -> adapter folder (published in a registry under `work`), and steps."""
    from mochi.trainer.experts.expert_run import (
        ExpertRunInputs,
        ExpertTask,
        expert_adapter_name,
        train_expert,
    )
    from mochi.trainer.registry import AdapterRegistry, base_model_id

    sizes = {plan.card.name: len(plan.train) for plan in data.plans}
    steps = split_steps(sizes, settings.steps, settings.split)
    registry = AdapterRegistry(work / "adapters")
    folders: dict[str, Path] = {}
    for plan in data.plans:
        name = plan.card.name
        log(f"seed {seed}: expert {name}, {steps[name]} steps on {sizes[name]} samples")
        inputs = ExpertRunInputs(
            registry=registry,
            model_dir=model,
            base=base_model_id(model),
            params=train_params(settings, steps[name], seed),
            job_id=f"bench-moe-seed-{seed}",
            commit="",
            dataset_hash=data.built.card.sha256,
        )
        adapter = expert_adapter_name(SET_NAME, name)
        # No held-out scoring inside: the gate's losses below score every expert once.
        manifest = train_expert(ExpertTask(adapter, plan.train, ()), inputs, work / "run" / name)
        folders[name] = registry.path(adapter, manifest.version)
    return folders, steps


def gate_samples(plans: Sequence[DomainPlan], limit: int) -> list[Sample]:
    """Up to `limit` held-out samples, the same number from each domain (the job takes
    the first `router_samples` in domain order, which a large domain fills alone)."""
    each = max(1, limit // max(1, len(plans)))
    return [s for plan in plans for s in plan.eval[:each]]


def train_gate(
    model: Path,
    data: CutData,
    experts: Mapping[str, Path],
    settings: TrainSettings,
    embed: EmbedTexts,
    seed: int,
    work: Path,
) -> tuple[Path | None, dict[str, int], str]:
    """The gate file (None when the labels name one expert), the labels, the reason."""
    from mochi.trainer.experts.losses import expert_losses
    from mochi.trainer.experts.router_training import train_router

    held_out = gate_samples(data.plans, settings.router_samples)
    if len(experts) < 2 or not held_out:
        return None, {}, "fewer than two experts or no held-out samples"
    log(f"seed {seed}: each expert's loss on {len(held_out)} held-out samples (gate labels)")
    losses = expert_losses(model, experts, held_out, max_seq_len=settings.seq_len)
    outcome = train_router(held_out, losses, embed, seed=seed)
    if outcome.gate is None:
        return None, outcome.labels, outcome.reason
    return outcome.gate.save(work / "router.json"), outcome.labels, outcome.reason


def publish_set(
    model: Path,
    data: CutData,
    experts: Mapping[str, Path],
    router: Path | None,
    rule: str,
    work: Path,
) -> Path:
    """The set as a train-experts job publishes it: cards, adapters, gate."""
    from mochi.rag.routing.expert_set import ExpertSet
    from mochi.rag.routing.features import FEATURE_VERSION
    from mochi.trainer.experts.publish import ExpertSetRegistry, SetRecord
    from mochi.trainer.registry import base_model_id

    base = base_model_id(model)
    cards = tuple(
        replace(plan.card, adapter=str(experts[plan.card.name].resolve()), version="v1")
        for plan in data.plans
    )
    expert_set = ExpertSet(
        version="",
        rule=rule,
        base_model=base.name,
        experts=cards,
        feature_version=FEATURE_VERSION if router else 0,
    )
    record = SetRecord(job_id="bench-moe", commit="", base_model_hash=base.fingerprint)
    return (
        ExpertSetRegistry(work / "sets").publish(SET_NAME, expert_set, record, router=router).folder
    )


def train_seed(
    model: Path,
    data: CutData,
    settings: TrainSettings,
    embed: EmbedTexts,
    seed: int,
    work: Path,
    progress: Callable[[str], None] = log,
) -> TrainedSeed:
    single = train_single(model, data, settings, seed, work)
    experts, steps = train_experts(model, data, settings, seed, work)
    router, labels, reason = train_gate(model, data, experts, settings, embed, seed, work)
    progress(f"seed {seed}: gate: {reason}; labels {labels}")
    folder = publish_set(model, data, experts, router, settings.rule, work)
    return TrainedSeed(single, folder, steps, "linear" if router else "centroid", labels)
