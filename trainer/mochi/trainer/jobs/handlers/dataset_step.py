"""Build a job's dataset once and keep it in the job's workdir: a resumed job trains on
exactly the samples it started with."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mochi.trainer.jobs.context import JobContext
from mochi.trainer.jobs.errors import JobCancelled
from mochi.trainer.jobs.handlers.tokenizer import tokenizer_facts

if TYPE_CHECKING:
    from mochi.trainer.datasets import BuiltDataset

DATASET_DIR = "dataset"


def job_dataset(
    ctx: JobContext,
    root: Path,
    model_dir: Path,
    params: Any,
    *,
    commit: str | None = None,
    changed_since: str | None = None,
) -> BuiltDataset:
    from mochi.trainer.datasets import (
        DatasetCancelled,
        DatasetSpec,
        build_dataset,
        load_dataset,
        save_dataset,
    )

    folder = ctx.workdir / DATASET_DIR
    if folder.is_dir():
        return load_dataset(folder)
    facts = tokenizer_facts(model_dir, trust_remote_code=params.trust_remote_code)
    ctx.report("dataset", 0, 0, "building the dataset")
    try:
        built = build_dataset(
            root,
            DatasetSpec(**params.dataset),
            fim_template=facts.fim_template,
            eos=facts.eos,
            count_tokens=facts.count_tokens,
            commit=commit,
            changed_since=changed_since,
            progress=ctx.progress,
            should_cancel=ctx.should_cancel,
        )
    except DatasetCancelled as exc:
        raise JobCancelled(str(exc)) from exc
    tmp = ctx.workdir / f"{DATASET_DIR}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    save_dataset(tmp, built)
    tmp.rename(folder)
    return built
