"""`TransformersGenerator`: the in-process back end (transformers + peft, CPU by default).

One base model, several LoRA experts on it (peft), one request at a time under a lock.
A request that weighs several experts (`GenerationRequest.adapter_weights`) runs on
their cached weighted merge (`LoraAdapters.serving`); the prefix cache is keyed by the
peft adapter that served, so each combination reuses only its own keys and values.
Decoding is written by hand (see `decode_loop`) for cancellation between tokens, stop
strings, and reuse of the KV cache of earlier prompts that share a prefix (`prefix_cache`).
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from mochi.rag.prompting.fim import detect_fim_template
from mochi.rag.prompting.healing import Healing, TokenHealer
from mochi.server.generation.adapter_mix import request_mix
from mochi.server.generation.decode_loop import DecodeLoop, DecodeSettings, KvState, stop_token_ids
from mochi.server.generation.lora_adapters import LoraAdapters
from mochi.server.generation.prefix_cache import PrefixCache
from mochi.server.generation.quantization import Quantization, from_pretrained_options, plan_for
from mochi.server.generation.scoring import ScoreRequest, TokenScores
from mochi.server.generation.token_memory import (
    LastHidden,
    MemoryMix,
    ModelTokenEncoder,
    adapter_identity,
    model_identity,
)
from mochi.server.generation.token_scoring import score_ids, tokenize_for_scoring
from mochi.server.generation.torch_backend_deps import require_torch_backend
from mochi.server.generation.types import (
    BackendHealth,
    BackendState,
    CancelToken,
    GenerationCancelled,
    GenerationError,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)

log = logging.getLogger(__name__)

DTYPES = ("bfloat16", "float32", "float16", "auto")


class TransformersGenerator:
    """Implements `Generator` and `Scorer`. `generate` and `score` are blocking and may be
    called from any thread."""

    def __init__(
        self,
        model_dir: str,
        *,
        device: str = "cpu",
        dtype: str = "bfloat16",
        adapters: Mapping[str, str] | None = None,
        trust_remote_code: bool = False,
        threads: int | None = None,
        fim_template: str | None = None,
        prefix_cache_size: int = 4,
        prefill_chunk: int = 1024,
        scoring_window: int = 1024,
        quantization: Quantization = "auto",
    ) -> None:
        if dtype not in DTYPES:
            raise GenerationError(f"dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
        if not (Path(model_dir).expanduser() / "config.json").is_file():
            raise GenerationError(
                f"no model in {model_dir} (config.json is missing); "
                "import one with `mochi models import FILE.gguf|DIR`"
            )
        require_torch_backend()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads is not None:
            torch.set_num_threads(threads)
        self._model_dir = model_dir
        self._device = device
        self._lock = threading.RLock()  # one request (or adapter load) on the model at a time
        self._tokenizer_lock = threading.Lock()
        self._closed = False
        try:
            self._tokenizer: Any = AutoTokenizer.from_pretrained(
                model_dir, trust_remote_code=trust_remote_code
            )
            plan = plan_for(model_dir, device=device, dtype=dtype, quantization=quantization)
            log.info("loading %s: %s", model_dir, plan.note)
            model: Any = AutoModelForCausalLM.from_pretrained(
                model_dir,
                **from_pretrained_options(plan, dtype),
                trust_remote_code=trust_remote_code,
            )
        except GenerationError:
            raise
        except Exception as exc:
            raise GenerationError(f"cannot load the model in {model_dir}: {exc}") from exc
        if plan.device_map is None:  # accelerate has placed the layers otherwise
            model.to(device)
        model.eval()
        self._config: Any = model.config
        self._base: Any = model  # the transformers model (peft wraps it, in place)
        self._last_hidden = LastHidden(model)
        # token memories by the adapter whose states they hold (None: the base model's)
        self._memories: dict[str | None, MemoryMix] = {}
        self._identity = ""  # model_identity(model_dir), read when a memory asks for it
        self._prefix_cache = PrefixCache(prefix_cache_size)
        self._adapters = LoraAdapters(model, model_dir, on_dropped=self._prefix_cache.invalidate)
        for name, path in (adapters or {}).items():
            self._adapters.load(name, path)
        self._forward_kwargs = _logits_to_keep_kwargs(model)
        self._set_decoding = _attention_switch(model, device)
        self._stop_ids = stop_token_ids(
            self._tokenizer, model.config, getattr(model, "generation_config", None)
        )
        self._healer = TokenHealer.for_tokenizer(self._tokenizer)
        self._prefill_chunk = prefill_chunk
        self._scoring_window = scoring_window
        self._fim_template = (
            fim_template
            if fim_template is not None
            else detect_fim_template(self._tokenizer.get_vocab())
        )
        self._context_length = int(
            getattr(model.config, "max_position_embeddings", None)
            or getattr(model.config, "n_positions", None)
            or 2048
        )

    # -- Generator ---------------------------------------------------------------------

    def info(self) -> ModelInfo:
        return ModelInfo(
            model_id=self._model_dir,
            backend="transformers",
            context_length=self._context_length,
            fim_template=self._fim_template,
            adapters=tuple(self.adapters()),
        )

    def adapters(self) -> list[str]:
        return self._adapters.names()  # a copy of a list: safe without the model lock

    def health(self) -> BackendHealth:
        if self._closed:
            return BackendHealth(BackendState.DOWN, "closed")
        return BackendHealth(
            BackendState.READY,
            f"{self._model_dir} on {self._device}",
            extra={
                "cached_prompts": str(len(self._prefix_cache)),
                "memory_tokens": str(self.memory_size()),
            },
        )

    def count_tokens(self, text: str) -> int:
        return len(self._encode(text))

    def weighted_merges(self) -> int:
        """How many weighted combinations of experts were merged (a cached one is reused)."""
        return self._adapters.merges_made

    def load_adapter(self, name: str, path: str) -> None:
        with self._lock:
            self._ensure_open()
            self._adapters.load(name, path)
            self._prefix_cache.invalidate(name)

    def token_encoder(self, window: int = 1024, adapter: str | None = None) -> ModelTokenEncoder:
        """The model's states for the token memory (`mochi.rag.memory.TokenEncoder`): the
        base model's, or with `adapter` on (the states a request with that adapter is
        queried with; its identity names the adapter's weights too)."""
        if not self._identity:
            self._identity = model_identity(self._model_dir)
        identity = self._identity
        if adapter is not None:
            with self._lock:
                folder = self._adapters.folder(adapter)
            identity = adapter_identity(identity, folder)

        def decode(input_ids: Any) -> Any:
            with self._adapters.active(adapter):
                return self._base.get_decoder()(input_ids=input_ids).last_hidden_state

        return ModelTokenEncoder(
            decode, self._tokenizer, identity, self._lock, device=self._device, window=window
        )

    def use_memory(self, memory: MemoryMix | None, adapter: str | None = None) -> None:
        """Requests with `memory=True` mix in this memory (None: none): the base model's,
        or the one of `adapter` for the requests served by that adapter alone (the others
        with an adapter fall back to the base model's memory)."""
        with self._lock:
            if memory is None:
                self._memories.pop(adapter, None)
            else:
                self._memories[adapter] = memory

    def current_memory(self, adapter: str | None = None) -> MemoryMix | None:
        return self._memories.get(adapter)

    def memory_size(self) -> int:
        return sum(memory.size for memory in self._memories.values())

    def _memory_for(self, adapter: str | None) -> MemoryMix | None:
        return self._memories.get(adapter) or self._memories.get(None)

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        if cancel.is_set():
            raise GenerationCancelled()
        prompt_ids = self._encode(request.prompt)
        if not prompt_ids:
            raise GenerationError("the prompt is empty (no tokens)")
        room = self._context_length - len(prompt_ids)
        if room <= 0:
            raise GenerationError(
                f"the prompt has {len(prompt_ids)} tokens; the model's context holds "
                f"{self._context_length}"
            )
        settings = DecodeSettings(
            max_new_tokens=min(request.max_tokens, room),
            temperature=request.temperature,
            seed=request.seed,
            stop=request.stop,
            stop_token_ids=self._stop_ids,
            skip_leading_newlines=request.skip_leading_newlines,
            prefill_chunk=self._prefill_chunk,
        )
        healing = self._healer.heal(prompt_ids) if request.heal else None
        with self._lock:
            self._ensure_open()
            self._adapters.check(request.adapter)
            served = self._adapters.serving(request_mix(request))
            started = time.perf_counter()
            if settings.max_new_tokens <= 0:
                return GenerationResult("", "length", len(prompt_ids), 0, adapter=request.adapter)
            memory = self._memory_for(served) if request.memory else None
            result = self._generate_locked(
                served, prompt_ids, settings, cancel, started, healing, memory
            )
        return replace(result, adapter=request.adapter)

    def score(self, request: ScoreRequest, cancel: CancelToken) -> TokenScores:
        """Each token of `request.text` with its log-probability after `request.context`
        (the last `scoring_window // 2` tokens of it at least) under `request.adapter`."""
        if cancel.is_set():
            raise GenerationCancelled()
        start_id = self._tokenizer.bos_token_id
        if start_id is None:
            start_id = self._tokenizer.eos_token_id
        with self._tokenizer_lock:
            tokens = tokenize_for_scoring(self._tokenizer, request.context, request.text, start_id)
        if tokens.first >= len(tokens.ids):
            return TokenScores((), (), adapter=request.adapter)
        keep = next(iter(self._forward_kwargs), None)
        with self._lock:
            self._ensure_open()
            self._adapters.check(request.adapter)
            if self._set_decoding is not None:
                self._set_decoding(False)
            try:
                with self._adapters.active(request.adapter):
                    logprobs = score_ids(
                        self._adapters.model,
                        tokens.ids,
                        tokens.first,
                        cancel,
                        device=self._device,
                        window=min(self._scoring_window, self._context_length),
                        keep_logits=keep,
                    )
            except (GenerationCancelled, GenerationError):
                raise
            except Exception as exc:
                raise GenerationError(f"scoring failed: {exc}") from exc
        return TokenScores(tuple(tokens.offsets), tuple(logprobs), adapter=request.adapter)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._prefix_cache.clear()
            self._memories.clear()
            self._last_hidden.close()
            self._adapters.model = None
            self._base = None

    # -- internals ---------------------------------------------------------------------

    def _generate_locked(
        self,
        adapter: str | None,  # the peft adapter: an expert or a weighted merge
        prompt_ids: list[int],
        settings: DecodeSettings,
        cancel: CancelToken,
        started: float,
        healing: Healing | None = None,
        memory: MemoryMix | None = None,
    ) -> GenerationResult:
        from transformers import DynamicCache

        fed = healing.prompt_ids if healing is not None else prompt_ids
        checkout = self._prefix_cache.checkout(adapter, fed)
        cache = checkout.cache if checkout.cache is not None else DynamicCache(config=self._config)
        state = KvState(cache, checkout.token_ids)
        keep = False
        try:
            with self._adapters.active(adapter):
                loop = DecodeLoop(
                    self._adapters.model,
                    self._tokenizer,
                    self._device,
                    self._forward_kwargs,
                    self._set_decoding,
                    (memory, self._last_hidden) if memory is not None else None,
                )
                decoded = loop.run(state, fed, settings, cancel, started, healing)
            keep = True
        except GenerationCancelled:
            keep = True  # the cache holds what was fed so far: the next prompt reuses it
            raise
        except Exception as exc:
            raise GenerationError(f"generation failed: {exc}") from exc
        finally:
            if keep and _croppable(state.cache):
                self._prefix_cache.checkin(adapter, state.token_ids, state.cache)
        return GenerationResult(
            text=decoded.text,
            finish_reason=decoded.finish_reason,
            prompt_tokens=len(prompt_ids),
            completion_tokens=decoded.completion_tokens,
            cached_prompt_tokens=checkout.reused,
            seconds_prefill=decoded.seconds_prefill,
            seconds_decode=decoded.seconds_decode,
            adapter=adapter,
        )

    def _encode(self, text: str) -> list[int]:
        with self._tokenizer_lock:
            ids: list[int] = self._tokenizer(text)["input_ids"]
        return ids

    def _ensure_open(self) -> None:
        if self._closed:
            raise GenerationError("the generator is closed")


def _logits_to_keep_kwargs(model: Any) -> dict[str, Any]:
    """Ask for the last position's logits only (the lm_head over a long prompt is costly)."""
    parameters = inspect.signature(model.forward).parameters
    for name in ("logits_to_keep", "num_logits_to_keep"):
        if name in parameters:
            return {name: 1}
    return {}


def _attention_switch(model: Any, device: str) -> Callable[[bool], None] | None:
    """On CPU, torch's SDPA kernel is the faster one for prefill, but eager attention is
    ~25% faster per one-token decode step at a 1k context (SmolLM2-135M, bfloat16).
    `model` is the transformers model (under any peft wrapper); switching costs < 1 ms."""
    if device != "cpu" or not hasattr(model, "set_attn_implementation"):
        return None
    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        return None

    def set_decoding(decoding: bool) -> None:
        model.set_attn_implementation("eager" if decoding else "sdpa")

    return set_decoding


def _croppable(cache: Any) -> bool:
    """Whether cutting the cache back restores an earlier state (not so for sliding windows)."""
    croppable = getattr(cache, "is_croppable", None)
    if croppable is not None:
        return bool(croppable)
    return not any(getattr(cache, "is_sliding", ()))
