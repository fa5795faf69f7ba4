"""`TransformersLineModel`: one base model on CPU (transformers), optionally one LoRA on it
(peft), switched off for the configurations without it; greedy decoding with a KV cache."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from mochi.rag.prompting import detect_fim_template
from mochi.rag.prompting.healing import Healing, TokenHealer
from mochi.rag.prompting.stops import find_stop

ADAPTER_NAME = "cut"


def _last_logits_kwargs(model: Any) -> dict[str, int]:
    """Ask for the last position's logits only: the lm_head over a long prompt is costly
    (as the server's back end does)."""
    parameters = inspect.signature(model.forward).parameters
    for name in ("logits_to_keep", "num_logits_to_keep"):
        if name in parameters:
            return {name: 1}
    return {}


class TransformersLineModel:
    """Implements `LineModel`."""

    def __init__(
        self,
        model_dir: Path,
        *,
        adapter_dir: Path | None = None,
        dtype: str = "bfloat16",
        seed: int = 0,
        token_healing: bool = True,
    ) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        torch.manual_seed(seed)
        self._torch = torch
        self._tokenizer: Any = AutoTokenizer.from_pretrained(str(model_dir))
        model: Any = AutoModelForCausalLM.from_pretrained(
            str(model_dir), dtype=getattr(torch, dtype)
        )
        self._last_logits = _last_logits_kwargs(model)
        if adapter_dir is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter_dir), adapter_name=ADAPTER_NAME)
        model.eval()
        self._model = model
        self._adapter = adapter_dir is not None
        self._fim = detect_fim_template(self._tokenizer.get_vocab())
        eos = self._tokenizer.eos_token_id
        self._stop_ids = {eos} if isinstance(eos, int) else set(eos or ())
        self._healer = TokenHealer.for_tokenizer(self._tokenizer) if token_healing else None

    @property
    def fim_template(self) -> str | None:
        return self._fim

    @property
    def has_adapter(self) -> bool:
        return self._adapter

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text)["input_ids"])

    def generate(
        self,
        prompt: str,
        stop: tuple[str, ...],
        max_new_tokens: int,
        *,
        adapter: bool,
        skip_leading_newlines: bool = False,
    ) -> str:
        if adapter and not self._adapter:
            raise ValueError("no adapter loaded")
        if self._adapter and not adapter:
            with self._model.disable_adapter():
                return self._greedy(prompt, stop, max_new_tokens, skip_leading_newlines)
        return self._greedy(prompt, stop, max_new_tokens, skip_leading_newlines)

    def _greedy(
        self, prompt: str, stop: tuple[str, ...], max_new_tokens: int, skip_newlines: bool
    ) -> str:
        torch = self._torch
        prompt_ids: list[int] = self._tokenizer(prompt)["input_ids"]
        healing = self._healer.heal(prompt_ids) if self._healer is not None else None
        if healing is not None:
            prompt_ids = healing.prompt_ids
        ids = torch.tensor([prompt_ids], dtype=torch.long)
        generated: list[int] = []
        text = ""
        with torch.inference_mode():
            out = self._model(input_ids=ids, use_cache=True, **self._last_logits)
            for step in range(max_new_tokens):
                token = _pick(out.logits[0, -1], healing if step == 0 else None)
                if token in self._stop_ids:
                    break
                generated.append(token)
                text = self._tokenizer.decode(generated, skip_special_tokens=False)
                if healing is not None:
                    text = healing.trim(text)
                cut = find_stop(text, stop, skip_leading_newlines=skip_newlines)
                if cut is not None:
                    return str(text[:cut])
                out = self._model(
                    input_ids=torch.tensor([[token]], dtype=torch.long),
                    past_key_values=out.past_key_values,
                    use_cache=True,
                )
        return str(text)


def _pick(logits: Any, healing: Healing | None) -> int:
    """Greedy; the first token of a healed prompt among the tokens that extend its text."""
    if healing is None:
        return int(logits.argmax())
    allowed = list(healing.allowed)
    return allowed[int(logits[allowed].argmax())]
