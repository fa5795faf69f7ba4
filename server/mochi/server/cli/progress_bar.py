"""A rich progress bar on stderr fed by the indexer's progress callback."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mochi.rag.types import Progress as IndexProgress


class ProgressBar:
    def __init__(self, enabled: bool = True) -> None:
        self._console = Console(stderr=True)
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[detail]}", style="dim"),
            console=self._console,
            disable=not enabled,
            transient=False,
        )
        self._task = self._bar.add_task("scanning", total=None, detail="")

    def __call__(self, report: IndexProgress) -> None:
        detail = report.message if len(report.message) < 60 else "…" + report.message[-59:]
        total = report.total if report.total > 0 else None
        self._bar.update(
            self._task, description=report.stage, completed=report.done, total=total, detail=detail
        )

    def __enter__(self) -> ProgressBar:
        self._bar.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._bar.stop()
