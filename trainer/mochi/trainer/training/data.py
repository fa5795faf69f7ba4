"""Samples as token ids with a loss mask, and the seeded order in which batches are drawn.

A batch is a pure function of (seed, step, micro-batch): the i-th sample drawn comes from
the permutation of epoch `i // len(data)`, so a resumed run draws exactly the batches an
uninterrupted run would have drawn.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mochi.trainer.samples import Sample

if TYPE_CHECKING:
    import torch

IGNORE_INDEX = -100  # labels that carry no loss (prompt tokens and padding)


@dataclass(frozen=True, slots=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]


def encode_sample(tokenizer: Any, sample: Sample, max_seq_len: int) -> Encoded:
    """Prompt + completion ids; labels are -100 on the prompt. Too long: the prompt loses
    tokens from the left (the completion is kept, itself cut from the right only when it
    alone is longer than `max_seq_len`).

    The two are encoded as one text, as the model reads them, and the loss starts at the
    token that holds the prompt's end: completing `"\n"` + `"    return"` trains on the
    merged `"\n   "` token, the same boundary token healing
    (`mochi.rag.prompting.healing`) gives the model at completion time.
    """
    prompt, completion = _split_ids(tokenizer, sample.prompt, sample.completion)
    completion = completion[:max_seq_len]
    room = max_seq_len - len(completion)
    prompt = prompt[len(prompt) - room :] if room > 0 else []
    return Encoded(
        input_ids=[*prompt, *completion],
        labels=[IGNORE_INDEX] * len(prompt) + list(completion),
    )


def _split_ids(tokenizer: Any, prompt: str, completion: str) -> tuple[list[int], list[int]]:
    """(ids wholly inside the prompt, the rest) of `prompt + completion` encoded at once;
    apart when the tokenizer gives no character offsets (a slow tokenizer)."""
    if prompt and completion and getattr(tokenizer, "is_fast", False):
        encoded = tokenizer(
            prompt + completion, add_special_tokens=False, return_offsets_mapping=True
        )
        ids: list[int] = encoded["input_ids"]
        inside = sum(1 for _, end in encoded["offset_mapping"] if end <= len(prompt))
        return ids[:inside], ids[inside:]
    return (
        tokenizer(prompt, add_special_tokens=False)["input_ids"],
        tokenizer(completion, add_special_tokens=False)["input_ids"],
    )


def collate(batch: Sequence[Encoded], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded tensors: input_ids, attention_mask and labels (-100 on padding)."""
    import torch

    width = max(len(item.input_ids) for item in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, item in enumerate(batch):
        ids[row, : len(item.input_ids)] = torch.tensor(item.input_ids)
        labels[row, : len(item.labels)] = torch.tensor(item.labels)
        mask[row, : len(item.input_ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def pad_token_id(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id
    return int(pad if pad is not None else tokenizer.eos_token_id or 0)


class SeededOrder:
    """Index `i` of an endless stream that walks a fresh seeded permutation each epoch."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.seed = seed
        self._epoch = -1
        self._perm: list[int] = []

    def __getitem__(self, i: int) -> int:
        epoch, offset = divmod(i, self.size)
        if epoch != self._epoch:
            self._perm = list(range(self.size))
            random.Random(self.seed * 1_000_003 + epoch).shuffle(self._perm)
            self._epoch = epoch
        return self._perm[offset]


class BatchSource:
    """Micro-batches for each (step, micro): `batch_size - replay_per_batch` task samples
    and `replay_per_batch` samples from the replay buffer (previous tasks)."""

    def __init__(
        self,
        train: Sequence[Encoded],
        replay: Sequence[Encoded],
        *,
        batch_size: int,
        grad_accum: int,
        replay_ratio: float,
        seed: int,
        pad_id: int,
    ) -> None:
        if not train:
            raise ValueError("no training samples")
        self.train = train
        self.replay = replay
        self.grad_accum = grad_accum
        self.pad_id = pad_id
        wanted = round(replay_ratio * batch_size) if replay else 0
        self.replay_per_batch = min(wanted, batch_size - 1)  # every batch keeps task data
        self.task_per_batch = batch_size - self.replay_per_batch
        self._train_order = SeededOrder(len(train), seed)
        self._replay_order = SeededOrder(len(replay), seed + 1) if replay else None

    def position(self, step: int) -> int:
        """Task samples drawn before `step` (the data-order position saved in checkpoints)."""
        return step * self.grad_accum * self.task_per_batch

    def get(self, step: int, micro: int) -> dict[str, torch.Tensor]:
        index = step * self.grad_accum + micro
        items = [
            self.train[self._train_order[index * self.task_per_batch + j]]
            for j in range(self.task_per_batch)
        ]
        if self._replay_order is not None:
            items += [
                self.replay[self._replay_order[index * self.replay_per_batch + j]]
                for j in range(self.replay_per_batch)
            ]
        return collate(items, self.pad_id)


def fingerprint(samples: Sequence[Sample]) -> str:
    """A digest of the samples, so that a checkpoint is not resumed on other data."""
    digest = hashlib.sha256()
    for sample in samples:
        digest.update(sample.prompt.encode("utf-8") + b"\x00")
        digest.update(sample.completion.encode("utf-8") + b"\x01")
    return digest.hexdigest()
