"""Each expert's loss on each held-out sample: the base model loaded once, the experts'
adapters on it, switched between (what labels the gate's training samples)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mochi.trainer.samples import Sample
from mochi.trainer.training.evaluate import token_losses

BATCH = 8


def expert_losses(
    model_dir: Path,
    adapters: Mapping[str, Path],
    samples: Sequence[Sample],
    *,
    max_seq_len: int = 512,
    trust_remote_code: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, list[float]]:
    """Expert name -> the mean completion-token loss of each sample under it.
    `progress(done, total)` counts experts."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from mochi.trainer.training.model_setup import load_tokenizer

    if not adapters:
        return {}
    names = list(adapters)
    base: Any = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.float32, trust_remote_code=trust_remote_code
    )
    load: Any = PeftModel.from_pretrained
    model: Any = load(base, str(adapters[names[0]]), adapter_name=names[0])
    for name in names[1:]:
        model.load_adapter(str(adapters[name]), adapter_name=name)
    if torch.cuda.is_available():
        model.to("cuda")
    model.eval()
    tokenizer = load_tokenizer(model_dir, trust_remote_code=trust_remote_code)
    found: dict[str, list[float]] = {}
    for done, name in enumerate(names, start=1):
        model.set_adapter(name)
        found[name] = sample_losses(model, tokenizer, samples, max_seq_len)
        if progress is not None:
            progress(done, len(names))
    return found


def sample_losses(
    model: Any, tokenizer: Any, samples: Sequence[Sample], max_seq_len: int
) -> list[float]:
    """The mean cross-entropy over each sample's completion tokens (as in training)."""
    import torch

    losses: list[float] = []
    with torch.no_grad():
        for nll, counts in token_losses(model, tokenizer, samples, max_seq_len, batch_size=BATCH):
            counted = counts.sum(dim=1).clamp(min=1)
            losses += (nll.sum(dim=1) / counted).tolist()
    return losses
