"""The text of a completion as its tokens arrive: incremental decoding and stop strings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mochi.rag.prompting.stops import find_stop


class CompletionText:
    """Decodes generated token ids to text, anchored on the prompt's last token.

    Decoding the new ids alone loses a leading space with SentencePiece tokenizers, so the
    text is `decode(anchor + new)` minus `decode(anchor)`.
    """

    def __init__(
        self,
        tokenizer: Any,
        anchor: Sequence[int],
        stops: Sequence[str],
        *,
        skip_leading_newlines: bool = False,
        healed: str = "",
    ) -> None:
        self._tokenizer = tokenizer
        self._healed = healed  # the prompt's taken-back last token: the text starts with it
        self._anchor = list(anchor)
        self._anchor_text = self._decode(self._anchor)
        self._stops = tuple(s for s in stops if s)
        self._skip_leading_newlines = skip_leading_newlines
        self.token_ids: list[int] = []
        self.text = ""

    def _decode(self, ids: Sequence[int]) -> str:
        text: str = self._tokenizer.decode(list(ids), skip_special_tokens=True)
        return text

    def push(self, token_id: int) -> bool:
        """Add one token; True when a stop string now ends the text (the text is cut before it)."""
        self.token_ids.append(token_id)
        full = self._decode(self._anchor + self.token_ids)
        if full.startswith(self._anchor_text):
            self.text = full[len(self._anchor_text) :]
        else:  # the anchor ended inside a multi-byte character
            self.text = self._decode(self.token_ids)
        self.text = self.text.removeprefix(self._healed)
        cut = find_stop(self.text, self._stops, skip_leading_newlines=self._skip_leading_newlines)
        if cut is None:
            return False
        self.text = self.text[:cut]
        return True
