"""Prefill and token-by-token decoding over a KV cache, by hand, so that every step can be
cancelled, stopped on a string, and started from a reused prefix."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mochi.rag.prompting.healing import Healing
from mochi.server.generation.completion_text import CompletionText
from mochi.server.generation.types import CancelToken, GenerationCancelled

if TYPE_CHECKING:
    import torch

    from mochi.server.generation.token_memory import LastHidden, MemoryMix


@dataclass(slots=True)
class KvState:
    """A KV cache and the token ids it holds; kept consistent after every forward pass."""

    cache: Any
    token_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DecodeSettings:
    max_new_tokens: int
    temperature: float = 0.0
    seed: int | None = None
    stop: tuple[str, ...] = ()
    stop_token_ids: frozenset[int] = frozenset()  # EOS and other control tokens
    skip_leading_newlines: bool = False  # see GenerationRequest
    prefill_chunk: int = 1024  # tokens per prefill forward pass; cancellation is checked between


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    finish_reason: str  # "stop" | "length"
    completion_tokens: int
    seconds_prefill: float
    seconds_decode: float


class DecodeLoop:
    """Runs one request on `model` (a causal LM, possibly wrapped by peft)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        device: str,
        forward_kwargs: dict[str, Any],
        set_decoding: Callable[[bool], None] | None = None,
        memory: tuple[MemoryMix, LastHidden] | None = None,
    ) -> None:
        self._model = model
        self._tokenizer = tokenizer
        self._device = device
        self._forward_kwargs = forward_kwargs  # e.g. {"logits_to_keep": 1}
        self._set_decoding = set_decoding or _no_switch  # called before prefill and decode
        # The token memory and the hook that gives the state it is queried with: every
        # next-token distribution is mixed with the memory's vote.
        self._memory = memory

    def run(
        self,
        state: KvState,
        prompt_ids: Sequence[int],
        settings: DecodeSettings,
        cancel: CancelToken,
        started: float,
        healing: Healing | None = None,
    ) -> Decoded:
        """Extend `state` (which holds a prefix of `prompt_ids`) and decode.

        With `healing`, `prompt_ids` are its healed ids: the first token is one of
        `healing.allowed` and the text leaves out `healing.text`.
        `state` stays valid when this raises GenerationCancelled: it then holds the tokens
        fed so far, which the next request can reuse.
        """
        import torch

        sampler = _Sampler(settings.temperature, settings.seed, self._device)
        text = CompletionText(
            self._tokenizer,
            prompt_ids[-1:],
            settings.stop,
            skip_leading_newlines=settings.skip_leading_newlines,
            healed=healing.text if healing is not None else "",
        )
        with torch.inference_mode():
            self._set_decoding(False)
            logits = self._prefill(state, prompt_ids, settings.prefill_chunk, cancel)
            token = sampler.pick(logits, healing.allowed if healing is not None else None)
            first_token_at = time.perf_counter()
            self._set_decoding(True)
            try:
                finish = self._decode(state, token, text, sampler, settings, cancel)
            finally:
                self._set_decoding(False)
        return Decoded(
            text=text.text,
            finish_reason=finish,
            completion_tokens=len(text.token_ids),
            seconds_prefill=first_token_at - started,
            seconds_decode=time.perf_counter() - first_token_at,
        )

    def _decode(
        self,
        state: KvState,
        token: int,
        text: CompletionText,
        sampler: _Sampler,
        settings: DecodeSettings,
        cancel: CancelToken,
    ) -> str:
        """Feed one token at a time; the finish reason."""
        for step in range(settings.max_new_tokens):
            if token in settings.stop_token_ids or text.push(token):
                return "stop"
            if step + 1 == settings.max_new_tokens:
                break
            _check(cancel)
            logits = self._forward(state, [token])
            token = sampler.pick(logits)
        return "length"

    def _prefill(
        self, state: KvState, prompt_ids: Sequence[int], chunk: int, cancel: CancelToken
    ) -> torch.Tensor:
        tail = list(prompt_ids[len(state.token_ids) :])
        if not tail:
            raise ValueError("the cache must leave at least one prompt token to prefill")
        logits = None
        for start in range(0, len(tail), max(1, chunk)):
            _check(cancel)
            logits = self._forward(state, tail[start : start + chunk])
        assert logits is not None
        return logits

    def _forward(self, state: KvState, ids: list[int]) -> torch.Tensor:
        import torch

        input_ids = torch.tensor([ids], dtype=torch.long, device=self._device)
        out = self._model(
            input_ids=input_ids,
            past_key_values=state.cache,
            use_cache=True,
            **self._forward_kwargs,
        )
        state.token_ids.extend(ids)
        logits: torch.Tensor = out.logits[0, -1]
        if self._memory is not None:
            mix, hidden = self._memory
            if hidden.value is not None:
                logits = mix.mix(logits, hidden.value)
        return logits


class _Sampler:
    """Greedy at temperature 0, else softmax sampling (seeded when a seed is given)."""

    def __init__(self, temperature: float, seed: int | None, device: str) -> None:
        import torch

        self._temperature = temperature
        self._generator: torch.Generator | None = None
        if temperature > 0 and seed is not None:
            self._generator = torch.Generator(device=device)
            self._generator.manual_seed(seed)

    def pick(self, logits: torch.Tensor, allowed: Sequence[int] | None = None) -> int:
        """A token id; with `allowed`, one of those."""
        import torch

        if allowed is not None:
            index = torch.tensor(list(allowed), dtype=torch.long, device=logits.device)
            return int(index[self.pick(logits[index])].item())
        if self._temperature <= 0:
            return int(torch.argmax(logits).item())
        probs = torch.softmax(logits.float() / self._temperature, dim=-1)
        return int(torch.multinomial(probs, 1, generator=self._generator).item())


def _no_switch(decoding: bool) -> None:
    pass


def _check(cancel: CancelToken) -> None:
    if cancel.is_set():
        raise GenerationCancelled()


def stop_token_ids(tokenizer: Any, model_config: Any, generation_config: Any) -> frozenset[int]:
    """EOS ids from every place a model declares them, plus the tokenizer's special tokens:
    a control token (end of text, a FIM or file separator) ends a code completion."""
    ids: set[int] = set()
    for source in (tokenizer, model_config, generation_config):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, Collection):
            ids.update(v for v in value if isinstance(v, int))
    ids.update(getattr(tokenizer, "all_special_ids", ()))
    return frozenset(ids)
