"""Held-out scores: mean completion-token loss and next-line exact match."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mochi.trainer.samples import Sample
from mochi.trainer.training.data import IGNORE_INDEX, collate, encode_sample, pad_token_id

EVAL_BATCH = 8


@dataclass(frozen=True, slots=True)
class EvalScores:
    loss: float  # mean cross-entropy per completion token
    next_line_em: float  # share of samples whose first generated line is exactly right
    count: int  # samples scored


def evaluate(
    model: Any,
    tokenizer: Any,
    samples: Sequence[Sample],
    *,
    max_new_tokens: int = 32,
    limit: int | None = None,
    max_seq_len: int = 512,
    progress: Callable[[int, int], None] | None = None,
) -> EvalScores:
    """Score `samples[:limit]`: the loss over completion tokens (prompt cut from the left
    like in training) and greedy generation from the prompt up to the first newline,
    compared with the first line of the completion (trailing whitespace stripped; the
    special-token text, such as EOS, left out)."""
    import torch

    chosen = list(samples[:limit] if limit is not None else samples)
    if not chosen:
        return EvalScores(loss=float("nan"), next_line_em=float("nan"), count=0)
    was_training = model.training
    model.eval()
    total_loss, total_tokens, matches = 0.0, 0, 0
    try:
        with torch.no_grad():
            for nll, counted in token_losses(
                model, tokenizer, chosen, max_seq_len, reduction="sum"
            ):
                total_loss += float(nll)
                total_tokens += int(counted.sum())
            for done, sample in enumerate(chosen, start=1):
                predicted = _next_line(model, tokenizer, sample.prompt, max_new_tokens, max_seq_len)
                matches += predicted == expected_line(tokenizer, sample.completion)
                if progress is not None:
                    progress(done, len(chosen))
    finally:
        model.train(was_training)
    return EvalScores(
        loss=total_loss / max(1, total_tokens),
        next_line_em=matches / len(chosen),
        count=len(chosen),
    )


def token_losses(
    model: Any,
    tokenizer: Any,
    samples: Sequence[Sample],
    max_seq_len: int,
    *,
    reduction: str = "none",
    batch_size: int = EVAL_BATCH,
) -> Iterator[tuple[Any, Any]]:
    """Per batch of `samples` (encoded as in training, the prompt cut from the left): the
    cross-entropy of the next tokens that count (the completion's) under `reduction`
    ("none": per token, 0 where it does not count; "sum": one number), and the mask of the
    tokens that count. Call it under `torch.no_grad()`."""
    import torch

    device = next(model.parameters()).device
    encoded = [encode_sample(tokenizer, s, max_seq_len) for s in samples]
    for start in range(0, len(encoded), batch_size):
        batch = collate(encoded[start : start + batch_size], pad_token_id(tokenizer))
        batch = {k: v.to(device) for k, v in batch.items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        labels = batch["labels"][:, 1:]
        nll = torch.nn.functional.cross_entropy(
            logits.logits[:, :-1].float().transpose(1, 2),
            labels,
            ignore_index=IGNORE_INDEX,
            reduction=reduction,
        )
        yield nll, labels != IGNORE_INDEX


def expected_line(tokenizer: Any, completion: str) -> str:
    """The completion's first line without special-token text (EOS-only gives "")."""
    line = completion.split("\n", 1)[0]
    for special in tokenizer.all_special_tokens:
        line = line.replace(special, "")
    return line.rstrip()


def _next_line(model: Any, tokenizer: Any, prompt: str, max_new: int, max_seq_len: int) -> str:
    import torch

    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"][-(max_seq_len - 1) :] or [
        pad_token_id(tokenizer)
    ]
    device = next(model.parameters()).device
    input_ids = torch.tensor([ids], device=device)
    out: list[int] = []
    past = None
    step_input = input_ids
    for _ in range(max_new):  # greedy; stops at EOS or at a token that holds a newline
        result = model(input_ids=step_input, past_key_values=past, use_cache=True)
        past = result.past_key_values
        token = int(result.logits[0, -1].argmax())
        if token == tokenizer.eos_token_id:
            break
        out.append(token)
        if "\n" in tokenizer.decode(out, skip_special_tokens=True):
            break
        step_input = torch.tensor([[token]], device=device)
    text = tokenizer.decode(out, skip_special_tokens=True)
    return str(text.split("\n", 1)[0].rstrip())


def evaluate_model(
    model_dir: Path,
    adapter_dir: Path | None,
    samples: Sequence[Sample],
    *,
    max_new_tokens: int = 32,
    limit: int | None = None,
    max_seq_len: int = 512,
    trust_remote_code: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> EvalScores:
    """Load the base model (plus a peft adapter, or a full model in `adapter_dir`) and
    score `samples[:limit]`; `progress(done, total)` after each sample's generation."""
    import torch
    from transformers import AutoModelForCausalLM

    from mochi.trainer.training.model_setup import load_tokenizer

    is_peft = adapter_dir is not None and (adapter_dir / "adapter_config.json").is_file()
    source = adapter_dir if adapter_dir is not None and not is_peft else model_dir
    model: Any = AutoModelForCausalLM.from_pretrained(
        source, dtype=torch.float32, trust_remote_code=trust_remote_code
    )
    if is_peft:
        from peft import PeftModel

        load: Any = PeftModel.from_pretrained
        model = load(model, str(adapter_dir))
    if torch.cuda.is_available():
        model.to("cuda")
    tokenizer = load_tokenizer(source, trust_remote_code=trust_remote_code)
    return evaluate(
        model,
        tokenizer,
        samples,
        max_new_tokens=max_new_tokens,
        limit=limit,
        max_seq_len=max_seq_len,
        progress=progress,
    )
