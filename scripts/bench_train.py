"""LoRA training throughput on CPU through `train_adapter`'s loop, against the bare model.

    .venv/bin/python scripts/bench_train.py --steps 8 --batch-size 4 --seq-len 128

LoRA: tokens/s of `train_adapter` (LoRA r=16 on all projections, AdamW step, clipping,
no checkpoints, no EWC), timed from the end of step 1 to the end of the last step with
the progress callback (model loading, step 1, Fisher and saving excluded).
Bare: the same model, without peft, every weight requiring grad, forward + backward
(no optimizer step) on the very same token batches, timed over the same steps.
Ratio = bare tokens/s ÷ LoRA tokens/s: the cost of the LoRA loop relative to the model's
own forward + backward (≤ 1.2 is the goal; < 1 means the loop is faster than the bare
pass, since LoRA skips the frozen weights' gradients).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mochi.trainer.samples import Sample
from mochi.trainer.training.data import BatchSource, encode_sample, pad_token_id
from mochi.trainer.training.model_setup import load_tokenizer
from mochi.trainer.training.params import TrainParams
from mochi.trainer.training.run import train_adapter

CODE_ROOT = Path(__file__).resolve().parents[1] / "trainer" / "mochi"


def default_model_dir() -> Path:
    from mochi.rag.paths import data_dir
    from mochi.server.models import ModelStore, default_model

    return default_model(ModelStore(data_dir()))


def code_samples(tokenizer: Any, seq_len: int, count: int) -> list[Sample]:
    """Windows of this repository's own Python code: the first half of a window is the
    prompt, the second half the completion (so every sample fills `seq_len` tokens)."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(CODE_ROOT.rglob("*.py")))
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    samples = []
    for start in range(0, len(ids) - seq_len, seq_len):
        window = ids[start : start + seq_len]
        half = seq_len // 2
        samples.append(
            Sample(
                prompt=tokenizer.decode(window[:half]),
                completion=tokenizer.decode(window[half:]),
                kind="fim",
            )
        )
        if len(samples) == count:
            break
    return samples


def lora_loop(model_dir: Path, samples: list[Sample], params: TrainParams) -> list[float]:
    """Wall-clock time at the end of each training step of `train_adapter`."""
    stamps: list[float] = []

    def progress(stage: str, done: int, total: int) -> None:
        if stage == "train":
            stamps.append(time.perf_counter())

    with tempfile.TemporaryDirectory() as workdir:
        train_adapter(model_dir, samples, [], params, Path(workdir), progress=progress)
    return stamps


def bare_loop(model_dir: Path, batches: list[dict[str, Any]]) -> list[float]:
    """Forward + backward of the plain model on the same batches; time after each step."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.config.use_cache = False
    model.train()
    stamps = []
    for batch in batches:
        model(**batch).loss.backward()
        model.zero_grad(set_to_none=True)
        stamps.append(time.perf_counter())
    return stamps


def render_markdown(result: dict[str, Any], args: argparse.Namespace) -> str:
    machine = result["machine"]
    command = (
        f"python scripts/bench_train.py --steps {result['steps']} "
        f"--batch-size {result['batch_size']} --seq-len {result['seq_len']}"
    )
    per_step = f"{result['tokens_per_step']:.0f}"
    lora_row = (
        f"| LoRA r={result['rank']} through `train_adapter` | {result['lora_tokens_per_s']} "
        f"| {result['lora_s_per_step']} | {per_step} |"
    )
    bare_row = (
        f"| bare model forward + backward | {result['bare_tokens_per_s']} "
        f"| {result['bare_s_per_step']} | {per_step} |"
    )
    return f"""# LoRA training throughput (CPU)

Measured by `{command}` on {machine["cpus"]} CPU cores ({machine["processor"]}, torch
{machine["torch"]}, {machine["torch_threads"]} threads), model `{result["model"]}`
(SmolLM2-135M, fp32), {result["date"]}. One-minute load average before / after:
{result["load_average"][0]} / {result["load_average"][1]} (above the core count means other
work shared the CPU and the absolute figures are pessimistic). The two loops run one after
the other on the same machine, so the ratio is the figure to read.

| loop | tokens/s | s/step | tokens/step |
|---|---|---|---|
{lora_row}
{bare_row}

Ratio bare tokens/s ÷ LoRA tokens/s: **{result["ratio_bare_over_lora"]}** (goal ≤ 1.2).

## Method

- Data: windows of {result["seq_len"]} tokens of this repository's own Python code
  (`trainer/mochi/**.py`), each split in half into prompt and completion, so every
  sample is close to the full length (re-encoding the decoded halves shifts a few
  tokens; padding is not counted).
- LoRA: `train_adapter` with `strategy="lora"`, rank {result["rank"]}, alpha
  {2 * result["rank"]}, LoRA on every attention and MLP projection, batch
  {result["batch_size"]}, AdamW step + gradient clipping + scheduler each step,
  fp32, no checkpoints, no EWC. Timed with its progress callback from the end of step 1
  to the end of step {result["steps"]} ({result["timed_steps"]} steps): model loading,
  the warm-up step, the Fisher estimate and saving are outside the window.
- Bare: the same model loaded with transformers, no peft, every weight requiring
  gradients, forward + backward (no optimizer step) on the same
  {result["steps"]} token batches, timed over the same {result["timed_steps"]} steps.
- Ratio = bare ÷ LoRA. Below 1 means the LoRA loop processes tokens faster than a plain
  forward + backward: it skips the gradients of the frozen weights (it still back-propagates
  through them), and its own overhead (dropout, the adapters, AdamW over ~5 M
  parameters) costs less than that saves.

## Re-run

```bash
.venv/bin/python {command.removeprefix("python ")}
```

It writes `docs/benchmarks/train.json` and this page (`--out` elsewhere; `--model DIR`
for another Hugging Face folder; the default is the packaged SmolLM2-135M imported by
the model store, ~40 s the first time).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--rank", type=int, default=16)
    parser.add_argument("--model", type=Path, default=None, help="HF model folder")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks"))
    args = parser.parse_args()
    if args.steps < 2:
        parser.error("--steps must be ≥ 2 (step 1 is the warm-up)")

    import torch

    model_dir = args.model or default_model_dir()
    tokenizer = load_tokenizer(model_dir)
    params = TrainParams(
        rank=args.rank,
        alpha=2 * args.rank,
        max_steps=args.steps,
        batch_size=args.batch_size,
        max_seq_len=args.seq_len,
        warmup_steps=1,
        checkpoint_every=0,
        fisher_samples=1,
        precision="fp32",
    )
    samples = code_samples(tokenizer, args.seq_len, args.steps * args.batch_size)
    source = BatchSource(
        [encode_sample(tokenizer, s, args.seq_len) for s in samples],
        [],
        batch_size=args.batch_size,
        grad_accum=1,
        replay_ratio=0.0,
        seed=params.seed,
        pad_id=pad_token_id(tokenizer),
    )
    batches = [source.get(step, 0) for step in range(args.steps)]  # what the loop draws
    tokens = [int(b["attention_mask"].sum()) for b in batches]
    timed_tokens = sum(tokens[1:])

    load_before = os.getloadavg()[0]
    lora = lora_loop(model_dir, samples, params)
    bare = bare_loop(model_dir, batches)
    load_after = os.getloadavg()[0]
    lora_tps = timed_tokens / (lora[-1] - lora[0])
    bare_tps = timed_tokens / (bare[-1] - bare[0])
    result = {
        "model": model_dir.name,
        "strategy": "lora",
        "rank": args.rank,
        "steps": args.steps,
        "timed_steps": args.steps - 1,
        "batch_size": args.batch_size,
        "seq_len": args.seq_len,
        "tokens_per_step": sum(tokens) / len(tokens),
        "lora_tokens_per_s": round(lora_tps, 1),
        "bare_tokens_per_s": round(bare_tps, 1),
        "ratio_bare_over_lora": round(bare_tps / lora_tps, 3),
        "lora_s_per_step": round((lora[-1] - lora[0]) / (args.steps - 1), 3),
        "bare_s_per_step": round((bare[-1] - bare[0]) / (args.steps - 1), 3),
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "platform": platform.platform(),
            "processor": platform.machine(),
        },
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    for key in ("lora_tokens_per_s", "bare_tokens_per_s", "ratio_bare_over_lora"):
        print(f"{key}: {result[key]}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "train.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (args.out / "train.md").write_text(render_markdown(result, args), encoding="utf-8")
    print(f"wrote {args.out / 'train.json'} and {args.out / 'train.md'}")


if __name__ == "__main__":
    main()
