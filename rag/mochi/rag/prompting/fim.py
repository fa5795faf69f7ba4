"""Fill-in-the-middle templates for the model families that were trained with them."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FimTemplate:
    name: str
    prefix: str
    suffix: str
    middle: str
    stop: tuple[str, ...]  # tokens that end a middle

    def render(self, prefix: str, suffix: str) -> str:
        """Prefix-suffix-middle order (PSM), what all three families use."""
        return f"{self.prefix}{prefix}{self.suffix}{suffix}{self.middle}"


FIM_TEMPLATES: dict[str, FimTemplate] = {
    "qwen": FimTemplate(
        "qwen",
        "<|fim_prefix|>",
        "<|fim_suffix|>",
        "<|fim_middle|>",
        ("<|endoftext|>", "<|fim_pad|>", "<|file_sep|>", "<|repo_name|>", "<|im_end|>"),
    ),
    "starcoder": FimTemplate(
        "starcoder",
        "<fim_prefix>",
        "<fim_suffix>",
        "<fim_middle>",
        ("<|endoftext|>", "<file_sep>", "<fim_prefix>"),
    ),
    "codellama": FimTemplate("codellama", "<PRE> ", " <SUF>", " <MID>", ("<EOT>", "</s>")),
}


def detect_fim_template(vocabulary: Container[str]) -> str | None:
    """The template whose special tokens a tokenizer's vocabulary holds, else None."""
    if "<|fim_prefix|>" in vocabulary:
        return "qwen"
    if "<fim_prefix>" in vocabulary:
        return "starcoder"
    if "▁<PRE>" in vocabulary or "<PRE>" in vocabulary:
        return "codellama"
    return None
