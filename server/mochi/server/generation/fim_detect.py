"""Which fill-in-the-middle prompt template a tokenizer's vocabulary was trained for."""

from __future__ import annotations

from collections.abc import Collection

# (a token only that template's models carry, the template's name in mochi.server.completion.fim)
_MARKERS: tuple[tuple[str, str], ...] = (
    ("<|fim_prefix|>", "qwen"),
    ("<fim_prefix>", "starcoder"),
    ("▁<PRE>", "codellama"),
    ("<PRE>", "codellama"),
)


def detect_fim_template(vocabulary: Collection[str]) -> str | None:
    """The FIM template whose marker token is in `vocabulary`; None when the model has none."""
    for token, template in _MARKERS:
        if token in vocabulary:
            return template
    return None
