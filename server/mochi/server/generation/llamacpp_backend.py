"""`LlamaCppGenerator`: the in-process llama.cpp back end (llama-cpp-python, a GGUF model).

llama.cpp decodes a small model on a laptop CPU several times faster per token than
torch (no per-op Python dispatch, quantized matrix kernels). The loop is mochi's own, on
llama-cpp-python's low-level calls, so that it keeps what the transformers back end does:

- prefix reuse: the KV cache keeps the tokens of the last request; the next prompt's
  common prefix is kept and only the rest is evaluated;
- token healing (`mochi.rag.prompting.healing`), stop strings after leading newlines, and
  control tokens ending a completion;
- cancellation between prefill batches and between tokens;
- per-request LoRA experts: peft adapters converted once to GGUF LoRA (`gguf_lora`), all
  loaded at start, the routed one switched on per request, or several at their weights
  (`GenerationRequest.adapter_weights`: llama.cpp adds the scaled deltas itself); the KV
  cache is dropped when the combination changes, since its keys and values depend on it;
- long prompt tails evaluated on a bf16 copy of weights that prefill slowly (Q4_1, the
  packaged model's type), then moved to the decoding context (`llamacpp_prefill`), with
  `prefill = "auto"`.

- the token memory (kNN-LM), when one is given (`use_memory`; its keys are made by the
  transformers copy of the model, `CpuGenerator`): llama.cpp outputs the final hidden
  state of the last token alongside its logits (`llama_set_embeddings`, switched on for
  that token only, so a prompt's other tokens get no output layer), and the memory's vote
  is mixed into the logits at each step.

One request at a time under a lock, as in the transformers back end. Scoring is
transformers-only: `scorer_of` finds no scorer here.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mochi.rag.prompting.fim import detect_fim_template
from mochi.rag.prompting.healing import Healing, TokenHealer
from mochi.server.generation.adapter_mix import (
    BASE,
    AdapterMix,
    check_experts,
    experts_of,
    mix_label,
    request_mix,
)
from mochi.server.generation.completion_text import CompletionText
from mochi.server.generation.gguf_lora import gguf_lora_for
from mochi.server.generation.gguf_prefill_copy import needs_prefill_copy, prefill_copy
from mochi.server.generation.llamacpp_model import (
    base_config_of,
    import_llama,
    load_llama,
    load_lora,
)
from mochi.server.generation.llamacpp_prefill import FastPrefill, apply_adapters, common_prefix
from mochi.server.generation.token_memory import MemoryMix
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

DEFAULT_CONTEXT = 4096


class LlamaCppGenerator:
    """Implements `Generator`; `generate` is blocking and may be called from any thread."""

    def __init__(
        self,
        gguf_file: str,
        *,
        adapters: Mapping[str, str] | None = None,
        threads: int | None = None,
        context_length: int | None = None,
        batch_size: int = 512,
        fim_template: str | None = None,
        prefix_cache: bool = True,
        prefill: str = "off",
    ) -> None:
        """`prefill`: "off" (the model's own weights evaluate prompts), "auto" (a bf16 copy
        does when the model's weight type prefills slowly) or the path of a GGUF of the
        same model to evaluate long prompt tails with."""
        path = Path(gguf_file).expanduser()
        if not path.is_file():
            raise GenerationError(f"no GGUF model at {path}")
        llama_cpp = import_llama()
        cores = threads or max(1, os.cpu_count() or 1)
        self._llm: Any = load_llama(
            llama_cpp,
            path,
            context_length=context_length or DEFAULT_CONTEXT,
            batch_size=batch_size,
            threads=cores,
        )
        self._lib: Any = llama_cpp
        self._path = path
        self._lock = threading.Lock()  # one request (or adapter change) on the model at a time
        # Tokenizing needs only the vocabulary, so it does not wait for a running request;
        # close() takes this lock too, since it frees the model the vocabulary belongs to.
        self._vocab_lock = threading.Lock()
        self._closed = False
        self._batch = batch_size
        self._reuse = prefix_cache
        self._n_vocab = int(self._llm.n_vocab())
        self._context_length = min(int(self._llm.n_ctx()), int(self._llm._model.n_ctx_train()))
        self._vocab = self._lib.llama_model_get_vocab(self._llm.model)
        self._base_config = base_config_of(self._llm.metadata)
        self._special = frozenset(
            i
            for i in range(self._n_vocab)
            if self._lib.llama_vocab_is_control(self._vocab, i)
            or self._lib.llama_vocab_is_eog(self._vocab, i)
        )
        self._fim_template = (
            fim_template
            if fim_template is not None
            else detect_fim_template(
                {self._llm._model.token_get_text(i): i for i in sorted(self._special)}
            )
        )
        self._healer: TokenHealer | None = None  # built on the first healed request
        self._adapters: dict[str, Any] = {}  # name -> llama_adapter_lora_p
        # token memories by the adapter whose states they hold (None: the base model's)
        self._memories: dict[str | None, MemoryMix] = {}
        self._n_embd = int(self._lib.llama_n_embd(self._llm.model))
        self._embeddings = False  # whether the context outputs hidden states
        self._active: AdapterMix = BASE  # the adapters the KV cache was computed with
        self._prefill: FastPrefill | None = None
        try:
            self._prefill = self._fast_prefill(prefill, cores, batch_size)
        except Exception:
            self._llm.close()
            raise
        for name, adapter_path in (adapters or {}).items():
            self.load_adapter(name, adapter_path)

    # -- Generator ---------------------------------------------------------------------

    def _fast_prefill(self, prefill: str, threads: int, batch: int) -> FastPrefill | None:
        if prefill == "off":
            return None
        if prefill == "auto":
            file_type = int(self._llm.metadata.get("general.file_type", "-1"))
            if not needs_prefill_copy(file_type, int(self._llm._model.n_params())):
                return None
            fast = prefill_copy(self._path)
        else:
            fast = Path(prefill).expanduser()
            if not fast.is_file():
                raise GenerationError(f"no GGUF model at {fast} (model.prefill)")
        return FastPrefill(
            self._lib,
            fast,
            context_length=int(self._llm.n_ctx()),
            batch_size=batch,
            threads=threads,
            reuse=self._reuse,
        )

    def info(self) -> ModelInfo:
        return ModelInfo(
            model_id=str(self._path),
            backend="llama.cpp",
            context_length=self._context_length,
            fim_template=self._fim_template,
            adapters=tuple(self.adapters()),
        )

    def adapters(self) -> list[str]:
        return list(self._adapters)

    def health(self) -> BackendHealth:
        if self._closed:
            return BackendHealth(BackendState.DOWN, "the generator is closed")
        detail = f"llama.cpp: {self._path.name}"
        if self._prefill is not None:
            detail += f" (long prompts from {self._prefill.path.name})"
        return BackendHealth(BackendState.READY, detail)

    def fast_prefills(self) -> int:
        """How many prompts were evaluated on the fast prefill context (0 without one)."""
        return self._prefill.moves if self._prefill is not None else 0

    def count_tokens(self, text: str) -> int:
        return len(self._tokenize(text, add_special=False))

    def use_memory(self, memory: MemoryMix | None, adapter: str | None = None) -> None:
        """Requests with `memory=True` mix in this memory (None: none): the base model's,
        or the one of `adapter` for the requests that adapter alone serves."""
        with self._lock:
            if memory is None:
                self._memories.pop(adapter, None)
            else:
                self._memories[adapter] = memory

    def current_memory(self, adapter: str | None = None) -> MemoryMix | None:
        return self._memories.get(adapter)

    def memory_size(self) -> int:
        return sum(memory.size for memory in self._memories.values())

    def load_adapter(self, name: str, path: str) -> None:
        """Add (or replace) adapter `name` from a peft folder or a GGUF LoRA file."""
        gguf = gguf_lora_for(Path(path).expanduser(), self._base_config)
        with self._lock:
            self._ensure_open()
            handle = load_lora(self._lib, self._llm.model, gguf)
            if name in experts_of(self._active):  # no context keeps a handle about to go
                self._switch_adapters(BASE)
            try:
                if self._prefill is not None:
                    self._prefill.load_adapter(name, gguf)
            except GenerationError:
                self._lib.llama_adapter_lora_free(handle)
                raise
            old = self._adapters.pop(name, None)
            if old is not None:
                self._lib.llama_adapter_lora_free(old)
            self._adapters[name] = handle
        log.info("llama.cpp adapter %r loaded from %s", name, gguf)

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        if cancel.is_set():
            raise GenerationCancelled()
        prompt_ids = self._tokenize(request.prompt, add_special=True)
        if not prompt_ids:
            raise GenerationError("the prompt is empty (no tokens)")
        room = self._context_length - len(prompt_ids)
        if room <= 0:
            raise GenerationError(
                f"the prompt has {len(prompt_ids)} tokens; the model's context holds "
                f"{self._context_length}"
            )
        mix = request_mix(request)
        check_experts(request.adapter, mix, list(self._adapters))
        healing = self._heal(prompt_ids) if request.heal else None
        with self._lock:
            self._ensure_open()
            started = time.perf_counter()
            max_new = min(request.max_tokens, room)
            if max_new <= 0:
                return GenerationResult("", "length", len(prompt_ids), 0, adapter=request.adapter)
            try:
                return self._generate_locked(
                    request, mix, prompt_ids, healing, max_new, cancel, started
                )
            except (GenerationCancelled, GenerationError):
                raise
            except Exception as exc:
                self._llm.n_tokens = 0  # the cache may hold a half-evaluated batch
                if self._prefill is not None:
                    self._prefill.reset()
                raise GenerationError(f"generation failed: {exc}") from exc

    def close(self) -> None:
        with self._lock, self._vocab_lock:
            if self._closed:
                return
            self._closed = True
            for handle in self._adapters.values():
                self._lib.llama_adapter_lora_free(handle)
            self._adapters.clear()
            if self._prefill is not None:
                self._prefill.close()
            self._llm.close()

    # -- decoding ------------------------------------------------------------------------

    def _generate_locked(
        self,
        request: GenerationRequest,
        mix: AdapterMix,
        prompt_ids: list[int],
        healing: Healing | None,
        max_new: int,
        cancel: CancelToken,
        started: float,
    ) -> GenerationResult:
        if mix != self._active:
            self._switch_adapters(mix)
        fed = healing.prompt_ids if healing is not None else prompt_ids
        memory = self._memory_for(mix) if request.memory else None
        reused = self._keep_prefix(fed)
        if self._prefill is not None and self._prefill.wants(fed, reused):
            self._prefill.prefill_into(self._llm, fed, cancel)
            logits = self._eval_last(fed[-1], memory)
        elif memory is not None:  # the prompt without outputs, then its last token with them
            if len(fed) - reused > 1:
                self._evaluate(fed[reused:-1], cancel)
            logits = self._eval_last(fed[-1], memory)
        else:
            logits = self._evaluate(fed[reused:], cancel)
        rng = np.random.default_rng(request.seed)
        token = _pick(logits, request.temperature, rng, healing.allowed if healing else None)
        first_token_at = time.perf_counter()
        text = CompletionText(
            _LlamaDecoder(self._llm),
            fed[-1:],
            request.stop,
            skip_leading_newlines=request.skip_leading_newlines,
            healed=healing.text if healing is not None else "",
        )
        finish = "length"
        for step in range(max_new):
            if token in self._special or text.push(token):
                finish = "stop"
                break
            if step + 1 == max_new:
                break
            if cancel.is_set():
                raise GenerationCancelled()
            logits = self._eval_last(token, memory)
            token = _pick(logits, request.temperature, rng, None)
        return GenerationResult(
            text=text.text,
            finish_reason=finish,
            prompt_tokens=len(prompt_ids),
            completion_tokens=len(text.token_ids),
            cached_prompt_tokens=reused,
            seconds_prefill=first_token_at - started,
            seconds_decode=time.perf_counter() - first_token_at,
            adapter=request.adapter,
        )

    def _keep_prefix(self, fed: Sequence[int]) -> int:
        """Keep the cached tokens `fed` starts with (all but its last, which must be
        evaluated for its logits); the number kept."""
        llm = self._llm
        keep = 0
        if self._reuse:
            keep = common_prefix(llm.input_ids[: llm.n_tokens], fed[: len(fed) - 1])
        llm.n_tokens = keep  # eval() drops the cache after n_tokens
        return keep

    def _evaluate(self, tail: Sequence[int], cancel: CancelToken) -> np.ndarray:
        self._output_states(False)
        logits = None
        for start in range(0, len(tail), self._batch):
            if cancel.is_set():
                raise GenerationCancelled()  # the cache holds what was fed so far
            logits = self._eval(list(tail[start : start + self._batch]))
        assert logits is not None  # _keep_prefix leaves at least one token
        return logits

    def _memory_for(self, mix: AdapterMix) -> MemoryMix | None:
        own = self._memories.get(mix[0][0]) if len(mix) == 1 else None
        return own or self._memories.get(None)

    def _eval_last(self, token: int, memory: MemoryMix | None) -> np.ndarray:
        """Evaluate one token; its logits, with the memory's vote mixed in when given."""
        self._output_states(memory is not None)
        logits = self._eval([token])
        if memory is None:
            return logits
        pointer = self._lib.llama_get_embeddings_ith(self._llm.ctx, -1)
        if not pointer:
            raise GenerationError("llama.cpp gave no hidden state for the token memory")
        hidden = np.ctypeslib.as_array(pointer, shape=(self._n_embd,))
        return memory.mix_arrays(logits, hidden)

    def _output_states(self, on: bool) -> None:
        if on != self._embeddings:
            self._lib.llama_set_embeddings(self._llm.ctx, on)
            self._embeddings = on

    def _eval(self, tokens: list[int]) -> np.ndarray:
        """Evaluate `tokens` after the cache; the logits after the last one."""
        self._llm.eval(tokens)
        pointer = self._lib.llama_get_logits_ith(self._llm.ctx, -1)
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))

    def _switch_adapters(self, mix: AdapterMix) -> None:
        weighted = [(self._adapters[name], scale) for name, scale in mix]
        apply_adapters(self._lib, self._llm.ctx, weighted, mix_label(mix))
        if self._prefill is not None:
            self._prefill.switch_adapters(mix)
        self._active = mix
        self._llm.n_tokens = 0  # keys and values depend on the adapters

    # -- tokens --------------------------------------------------------------------------

    def _tokenize(self, text: str, *, add_special: bool) -> list[int]:
        with self._vocab_lock:
            self._ensure_open()
            if not text:
                return []
            ids: list[int] = self._llm.tokenize(text.encode("utf-8"), add_special, True)
        return ids

    def _heal(self, prompt_ids: list[int]) -> Healing | None:
        with self._vocab_lock:
            self._ensure_open()
            if self._healer is None:
                texts = [
                    self._llm.detokenize([i], special=True).decode("utf-8", errors="replace")
                    for i in range(self._n_vocab)
                ]
                self._healer = TokenHealer(texts, self._special)
        return self._healer.heal(prompt_ids)

    def _ensure_open(self) -> None:
        if self._closed:
            raise GenerationError("the generator is closed")


class _LlamaDecoder:
    """The `decode` that `CompletionText` needs, over llama.cpp's detokenizer."""

    def __init__(self, llm: Any) -> None:
        self._llm = llm

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        raw: bytes = self._llm.detokenize(ids, special=not skip_special_tokens)
        return raw.decode("utf-8", errors="replace")


def _pick(
    logits: np.ndarray,
    temperature: float,
    rng: np.random.Generator,
    allowed: Sequence[int] | None,
) -> int:
    """Greedy at temperature 0, else softmax sampling; with `allowed`, one of those."""
    if allowed is not None:
        index = np.fromiter(allowed, dtype=np.int64)
        return int(index[_pick(logits[index], temperature, rng, None)])
    if temperature <= 0:
        return int(np.argmax(logits))
    scaled = logits.astype(np.float64) / temperature
    probs = np.exp(scaled - scaled.max())
    return int(rng.choice(len(probs), p=probs / probs.sum()))
