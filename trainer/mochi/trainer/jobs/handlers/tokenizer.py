"""What the dataset builder needs from the base model's tokenizer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TokenizerFacts:
    eos: str
    fim_template: str | None  # mochi.rag.prompting template name, None: prefix-only samples
    count_tokens: Callable[[str], int]


def tokenizer_facts(model_dir: Path, *, trust_remote_code: bool = False) -> TokenizerFacts:
    from transformers import AutoTokenizer

    from mochi.rag.prompting import detect_fim_template

    tokenizer = AutoTokenizer.from_pretrained(model_dir, trust_remote_code=trust_remote_code)

    def count_tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    return TokenizerFacts(
        eos=str(tokenizer.eos_token or ""),
        fim_template=detect_fim_template(tokenizer.get_vocab()),
        count_tokens=count_tokens,
    )
