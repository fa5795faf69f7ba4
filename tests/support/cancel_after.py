"""A cancel token that fires on its n-th check (cancellation mid-stream)."""

from __future__ import annotations

from mochi.server.generation.types import CancelToken


class CancelAfter(CancelToken):
    """Cancels itself at the n-th check: a cancellation that lands mid-stream."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self._left = checks

    def is_set(self) -> bool:
        self._left -= 1
        if self._left <= 0:
            self.cancel()
        return super().is_set()
