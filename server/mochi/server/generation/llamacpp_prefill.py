"""`FastPrefill`: long prompt tails evaluated on a second llama.cpp context, over weights
that prefill fast (a bf16 copy, `gguf_prefill_copy`), then handed to the decoding context.

Both contexts hold the same model in different weight types, so their KV caches have the
same layout: llama.cpp's sequence state (`llama_state_seq_get_data` / `_set_data`, about
25 MB for 1,100 tokens of SmolLM2-135M, ~20 ms to copy) moves the evaluated prompt from
one to the other. The keys and values differ from what the decoding weights would give by
their rounding, so a near-tie token may come out differently than a prefill on the
original would; the text is the same model's.

Short tails (a keystroke's worth, with the prefix reused) stay on the decoding context:
copying the whole sequence would cost more than evaluating them there.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mochi.server.generation.adapter_mix import AdapterMix, mix_label
from mochi.server.generation.llamacpp_model import load_llama, load_lora
from mochi.server.generation.types import CancelToken, GenerationCancelled, GenerationError

# A tail at least this long is evaluated on the fast context (~4x faster per token here).
MIN_TAIL_TOKENS = 64
# ...unless the fast context would have to evaluate this many times the tail itself
# (its own cache holds an older prompt).
MAX_EXTRA_WORK = 3


class FastPrefill:
    """The prefill context; used by `LlamaCppGenerator` under its lock."""

    def __init__(
        self,
        lib: Any,
        path: Path,
        *,
        context_length: int,
        batch_size: int,
        threads: int,
        reuse: bool = True,
    ) -> None:
        self._lib = lib
        self.path = path
        self._llm: Any = load_llama(
            lib, path, context_length=context_length, batch_size=batch_size, threads=threads
        )
        self._batch = batch_size
        self._reuse = reuse  # False: every prompt is evaluated whole (a cold cache)
        self._adapters: dict[str, Any] = {}
        self.moves = 0  # prompts evaluated here and moved to the decoding context

    def wants(self, fed: Sequence[int], reused: int) -> bool:
        """Whether evaluating `fed` after the decoding context's `reused` tokens is cheaper
        here (the tail is long and this context's cache does not make it much longer)."""
        tail = len(fed) - 1 - reused
        if tail < MIN_TAIL_TOKENS:
            return False
        return len(fed) - 1 - self._common_prefix(fed) <= MAX_EXTRA_WORK * tail

    def prefill_into(self, target: Any, fed: Sequence[int], cancel: CancelToken) -> None:
        """Evaluate all of `fed` but its last token here, then make `target` (the decoding
        `Llama`) hold the same sequence; its last token is left to the caller, whose
        logits come from the decoding weights."""
        llm = self._llm
        llm.n_tokens = self._common_prefix(fed)
        tail = list(fed[llm.n_tokens : len(fed) - 1])
        for start in range(0, len(tail), self._batch):
            if cancel.is_set():
                raise GenerationCancelled()  # this cache holds what was fed so far
            llm.eval(tail[start : start + self._batch])
        size = int(self._lib.llama_state_seq_get_size(llm.ctx, 0))
        state = (ctypes.c_uint8 * size)()
        if self._lib.llama_state_seq_get_data(llm.ctx, state, size, 0) != size:
            raise GenerationError("llama.cpp could not read the prefill context's state")
        if self._lib.llama_state_seq_set_data(target.ctx, state, size, 0) != size:
            target.n_tokens = 0
            raise GenerationError("llama.cpp could not move the prompt to the decoding context")
        done = len(fed) - 1
        target.input_ids[:done] = fed[:done]
        target.n_tokens = done
        self.moves += 1

    def load_adapter(self, name: str, gguf: Path) -> None:
        handle = load_lora(self._lib, self._llm.model, gguf)
        old = self._adapters.pop(name, None)
        if old is not None:
            self._lib.llama_adapter_lora_free(old)
        self._adapters[name] = handle

    def switch_adapters(self, mix: AdapterMix) -> None:
        weighted = [(self._adapters[name], scale) for name, scale in mix]
        apply_adapters(self._lib, self._llm.ctx, weighted, mix_label(mix))
        self._llm.n_tokens = 0

    def reset(self) -> None:
        """Forget the cache (it may hold a half-evaluated batch)."""
        self._llm.n_tokens = 0

    def close(self) -> None:
        for handle in self._adapters.values():
            self._lib.llama_adapter_lora_free(handle)
        self._adapters.clear()
        self._llm.close()

    def _common_prefix(self, fed: Sequence[int]) -> int:
        if not self._reuse:
            return 0
        return common_prefix(self._llm.input_ids[: self._llm.n_tokens], fed[: len(fed) - 1])


def common_prefix(cached: Sequence[int] | np.ndarray, wanted: Sequence[int]) -> int:
    """How many leading tokens `cached` and `wanted` share."""
    limit = min(len(cached), len(wanted))
    same = np.asarray(cached[:limit]) == np.asarray(wanted[:limit])
    return limit if same.all() else int(np.argmin(same))


def apply_adapters(lib: Any, ctx: Any, weighted: Sequence[tuple[Any, float]], label: str) -> None:
    """Make `ctx` decode with the LoRA handles of `weighted`, each at its scale (llama.cpp
    adds their deltas, times the scale, to the weights); none: the base weights. `label`
    names the combination in the error."""
    if not weighted:
        lib.llama_set_adapters_lora(ctx, None, 0, None)
        return
    count = len(weighted)
    handles = (lib.llama_adapter_lora_p_ctypes * count)(*(handle for handle, _ in weighted))
    scales = (ctypes.c_float * count)(*(scale for _, scale in weighted))
    if lib.llama_set_adapters_lora(ctx, handles, count, scales):
        raise GenerationError(f"llama.cpp could not apply the adapters {label!r}")
