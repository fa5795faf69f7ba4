"""TensorBoard event files through tensorboardX (the `trainer` extra), when it is installed.

View them with `tensorboard --logdir <data dir>/trainer/jobs` (`pip install tensorboard`).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)
FLUSH_SECONDS = 10


class ScalarWriter(Protocol):
    """The part of `tensorboardX.SummaryWriter` the trainer uses."""

    def add_scalar(
        self, tag: str, scalar_value: float, global_step: int, walltime: float | None = None
    ) -> None: ...

    def close(self) -> None: ...


def open_scalar_writer(
    logdir: Path, label: str, *, purge_step: int | None = None
) -> ScalarWriter | None:
    """A writer of one new event file in `logdir` (None without tensorboardX). `purge_step`:
    TensorBoard drops what earlier files logged from that step on (a resumed run)."""
    try:
        from tensorboardX import SummaryWriter  # type: ignore[import-untyped]
    except ImportError:
        log.debug("tensorboardX is not installed: no TensorBoard events in %s", logdir)
        return None
    logdir.mkdir(parents=True, exist_ok=True)
    writer: ScalarWriter = SummaryWriter(
        str(logdir),
        purge_step=purge_step,
        flush_secs=FLUSH_SECONDS,
        # tensorboardX names the file after the second it opened it: two writers in one
        # second would write the same file
        filename_suffix=f".{label}-{uuid.uuid4().hex[:8]}",
    )
    return writer
