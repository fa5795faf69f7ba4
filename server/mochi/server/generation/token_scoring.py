"""Per-token log-probabilities of a text by a causal LM, in windows: a long text is read
in overlapping windows so every token is scored with up to `window - stride` tokens
before it (the usual strided perplexity), and cancellation is checked between them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mochi.server.generation.types import CancelToken, GenerationCancelled, GenerationError


@dataclass(frozen=True, slots=True)
class Tokenized:
    """`ids` hold the context's and the text's tokens; those from `first` on are scored,
    `offsets[i]` is where scored token `first + i` starts in the text."""

    ids: list[int]
    first: int
    offsets: list[int]


def tokenize_for_scoring(
    tokenizer: Any, context: str, text: str, start_id: int | None
) -> Tokenized:
    """Tokenize `context + text` as one string (the tokens the model would see) and mark
    the tokens that end inside `text`. With nothing before the first scored token,
    `start_id` (BOS, else EOS) is put in front so that it too has a probability."""
    if not getattr(tokenizer, "is_fast", False):
        raise GenerationError("scoring needs a fast tokenizer (character offsets)")
    encoded = tokenizer(context + text, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(encoded["input_ids"])
    spans: list[tuple[int, int]] = [tuple(s) for s in encoded["offset_mapping"]]
    cut = len(context)
    first = next((i for i, (_, end) in enumerate(spans) if end > cut), len(ids))
    offsets = [max(0, start - cut) for start, _ in spans[first:]]
    if first == 0 and ids:
        if start_id is None:
            raise GenerationError("the tokenizer has neither a BOS nor an EOS token")
        ids.insert(0, start_id)
        first = 1
    return Tokenized(ids, first, offsets)


def score_ids(
    model: Any,
    ids: Sequence[int],
    first: int,
    cancel: CancelToken,
    *,
    device: str,
    window: int,
    keep_logits: str | None = None,
) -> list[float]:
    """log p(ids[t] | ids[:t]) for t in [first, len(ids)), each read with at most
    `window` tokens; `keep_logits` names the forward argument that limits the logits
    computed to the last positions (`logits_to_keep`), when the model has one."""
    import torch

    if window < 2:
        raise GenerationError("the scoring window must hold at least 2 tokens")
    stride = max(1, window // 2)
    out: list[float] = []
    target = first
    with torch.inference_mode():
        while target < len(ids):
            if cancel.is_set():
                raise GenerationCancelled()
            end = min(len(ids), target + stride)
            start = max(0, end - window)
            feed = torch.tensor([ids[start:end]], device=device)
            kwargs: dict[str, Any] = {"use_cache": False}
            needed = end - target + 1  # the positions that predict ids[target:end], + one
            if keep_logits is not None:
                kwargs[keep_logits] = needed
            logits = model(input_ids=feed, **kwargs).logits[0]
            rows = logits[-needed:-1].float()
            logprobs = torch.log_softmax(rows, dim=-1)
            wanted = torch.tensor(ids[target:end], device=device)
            picked = logprobs.gather(1, wanted.unsqueeze(1)).squeeze(1)
            out.extend(float(x) for x in picked.tolist())
            target = end
    return out
