"""The LoRA of the lora configurations: a ready one (`--adapter`), or one trained on the
repository as of the cut with mochi's recipe (`training.recipe`; `--train-steps` fixes the
steps instead of one pass), cached in `<out>/lora` so a resumed run does not train again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mochi.trainer.evaluation.completer import ContextSource
from mochi.trainer.evaluation.errors import EvalError
from mochi.trainer.evaluation.run_spec import RunSpec
from mochi.trainer.evaluation.run_state import PreparedRun

ProgressFn = Callable[[str, int, int], None]
LORA_DIR = "lora"
DATASET_DIR = "dataset"
FISHER_SAMPLES = 8  # the adapter is not continued with EWC here: a token Fisher is enough


def trained_adapter_dir(out: Path) -> Path:
    return out / LORA_DIR / "output"


def adapter_at_cut(
    spec: RunSpec,
    run: PreparedRun,
    *,
    context: ContextSource | None,
    progress: ProgressFn | None = None,
) -> Path:
    if spec.adapter_dir is not None:
        return spec.adapter_dir
    ready = trained_adapter_dir(spec.out)
    if (ready / "adapter_config.json").is_file():
        return ready
    from transformers import AutoTokenizer

    from mochi.rag.prompting import detect_fim_template
    from mochi.trainer.datasets import (
        DatasetError,
        DatasetSpec,
        build_dataset,
        load_dataset,
        save_dataset,
    )
    from mochi.trainer.training.params import TrainingError, TrainParams
    from mochi.trainer.training.recipe import with_recipe
    from mochi.trainer.training.run import train_adapter

    def stage(name: str) -> ProgressFn | None:
        if progress is None:
            return None
        report = progress
        return lambda step, done, total: report(f"{name}: {step}", done, total)

    tokenizer = AutoTokenizer.from_pretrained(str(spec.model_dir))

    def count_tokens(text: str) -> int:
        return len(tokenizer(text)["input_ids"])

    steps = {"max_steps": spec.train_steps} if spec.train_steps is not None else {}
    dataset_params, train_params = with_recipe(
        {"seed": spec.seed, "context_tokens": spec.decoding.context_tokens, **spec.dataset_params},
        {**steps, "seed": spec.seed, "fisher_samples": FISHER_SAMPLES, **spec.train_params},
    )
    saved = spec.out / LORA_DIR / DATASET_DIR
    try:
        if (saved / "card.json").is_file():  # built before an interruption: same samples
            dataset = load_dataset(saved)
        else:
            dataset = build_dataset(
                run.repo,
                DatasetSpec(**dataset_params),
                fim_template=detect_fim_template(tokenizer.get_vocab()),
                eos=str(tokenizer.eos_token or ""),
                count_tokens=count_tokens,
                context=context,
                commit=run.since,
                progress=stage("dataset"),
            )
            save_dataset(saved, dataset)
        outcome = train_adapter(
            spec.model_dir,
            dataset.train,
            [],  # the held-out loss is not what this run measures: skip it
            TrainParams(**train_params),
            spec.out / LORA_DIR,
            progress=stage("training"),
        )
    except (DatasetError, TrainingError) as exc:
        raise EvalError(f"cannot train the LoRA at the cut: {exc}") from exc
    return outcome.output_dir
