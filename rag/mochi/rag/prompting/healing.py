"""Token healing: the prompt's last token is taken back and the first generated token may
be any token whose text begins with it.

A completion prompt ends where the cursor is, which is rarely where the tokenizer would
end a token. Byte-level BPE merges a newline with the indentation after it (`"\\n   "`),
so a prompt that ends with a bare `"\\n"` puts the model at a token boundary it never saw
in training: after a lone newline token it expects unindented code, and a completion at
the start of an indented line comes out as top-level code or yet another newline.
Backing off the last token and constraining the first one to extend its text lets the
model pick the merged token it knows (`"\\n   "`, then `" return"`).

The server's transformers back end and the trainer's evaluation use it the same way; the
trainer encodes its samples so that training sees the same boundaries (see
`mochi.trainer.training.data.encode_sample`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

REPLACEMENT = "\ufffd"  # what a token holding part of a multi-byte character decodes to
MAX_CACHED = 4096  # last tokens whose extensions are remembered


@dataclass(frozen=True, slots=True)
class Healing:
    """A prompt with its last token taken back.

    `prompt_ids` is the prompt without that token, `text` the token's text (which the
    generated text begins with and the caller removes), `allowed` the ids the first
    generated token must be one of.
    """

    prompt_ids: list[int]
    text: str
    allowed: tuple[int, ...]

    def trim(self, generated: str) -> str:
        """The generated text without the part that was the prompt's last token."""
        return generated.removeprefix(self.text)


class TokenHealer:
    """Knows the text of every token of one tokenizer; heals prompts encoded by it."""

    def __init__(self, token_texts: Sequence[str], special_ids: Collection[int] = ()) -> None:
        self._texts = list(token_texts)
        self._special = frozenset(special_ids)
        self._allowed: dict[int, tuple[int, ...]] = {}

    @classmethod
    def for_tokenizer(cls, tokenizer: Any) -> TokenHealer:
        """From a transformers tokenizer. SentencePiece marks a leading space with "▁",
        which decoding a token on its own drops; it is put back."""
        size = len(tokenizer)
        pieces = tokenizer.convert_ids_to_tokens(list(range(size)))
        decoded = tokenizer.batch_decode([[i] for i in range(size)], skip_special_tokens=False)
        texts = [
            " " + text
            if isinstance(piece, str) and piece.startswith("▁") and not text.startswith(" ")
            else text
            for piece, text in zip(pieces, decoded, strict=True)
        ]
        return cls(texts, getattr(tokenizer, "all_special_ids", ()))

    def heal(self, prompt_ids: Sequence[int]) -> Healing | None:
        """The healed prompt, or None when healing cannot change anything: the last token
        is special (a FIM marker), part of a character, or no longer token extends it."""
        if len(prompt_ids) < 2:
            return None
        last = prompt_ids[-1]
        if last in self._special or not 0 <= last < len(self._texts):
            return None
        text = self._texts[last]
        if not text or REPLACEMENT in text:
            return None
        allowed = self._extensions(last, text)
        if len(allowed) <= 1:
            return None
        return Healing(list(prompt_ids[:-1]), text, allowed)

    def _extensions(self, token_id: int, text: str) -> tuple[int, ...]:
        cached = self._allowed.get(token_id)
        if cached is None:
            cached = tuple(
                i
                for i, candidate in enumerate(self._texts)
                if candidate.startswith(text) and i not in self._special
            )
            if len(self._allowed) >= MAX_CACHED:
                self._allowed.clear()
            self._allowed[token_id] = cached
        return cached
