"""Runs queued jobs on worker threads, at most `max_jobs_per_device` at a time per device."""

from __future__ import annotations

import logging
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mochi.rag.time_left import TimeLeft
from mochi.trainer.jobs.context import Handlers, JobContext
from mochi.trainer.jobs.devices import detect_devices, release_device, use_device
from mochi.trainer.jobs.errors import JobCancelled
from mochi.trainer.jobs.private import private_dir
from mochi.trainer.jobs.progress_log import ProgressLog
from mochi.trainer.jobs.store import JobStore, StoredJob
from mochi.trainer.protocol import JobProgress, JobState, JobView

log = logging.getLogger(__name__)


class JobObserver(Protocol):
    """Told when a job ends (the metrics use it)."""

    def job_finished(self, view: JobView) -> None: ...


@dataclass(frozen=True)
class RunnerConfig:
    jobs_dir: Path  # <data_dir>/trainer/jobs
    max_jobs_per_device: int = 1
    devices: tuple[str, ...] | None = None  # None: detect on first dispatch
    poll_seconds: float = 0.2
    keep_workdirs: bool = True  # False: delete a job's workdir once it succeeded

    def __post_init__(self) -> None:
        if self.max_jobs_per_device < 1:
            raise ValueError(
                f"max_jobs_per_device must be at least 1, not {self.max_jobs_per_device}"
            )
        if self.poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be positive, not {self.poll_seconds}")
        for device in self.devices or ():
            if device != "cpu" and not (device.startswith("cuda:") and device[5:].isdigit()):
                raise ValueError(f"devices: {device!r} is neither 'cpu' nor 'cuda:N'")


class Runner:
    """A dispatcher thread claims jobs from the store for devices with a free slot and
    starts one worker thread per job."""

    def __init__(
        self,
        store: JobStore,
        handlers: Handlers,
        config: RunnerConfig,
        *,
        observer: JobObserver | None = None,
        detect: Callable[[], Sequence[str]] = detect_devices,
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.config = config
        self.observer = observer
        self._detect = detect
        self._devices: list[str] | None = list(config.devices) if config.devices else None
        self._running: dict[str, tuple[str, threading.Event]] = {}  # job id → (device, cancel)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        private_dir(self.config.jobs_dir)
        self._stop = threading.Event()  # a fresh one: workers of a previous run keep theirs
        self._thread = threading.Thread(target=self._dispatch_loop, name="mochi-jobs", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Stop dispatching; each running job's `should_cancel` answers True from now on, so
        it stops at its next step (training checkpoints there) and goes back to the queue.
        Returns at once and only sets a flag, so a signal handler may call it."""
        self._stop.set()

    def stop(
        self, timeout: float = 10.0, *, give_up: Callable[[], bool] | None = None
    ) -> list[str]:
        """`request_stop()`, then wait up to `timeout` seconds (less once `give_up()` says
        so) for the jobs to stop. Returns the ids of the jobs still running: they stay
        RUNNING in the store and the next start requeues them, as after a crash."""
        self.request_stop()
        self._wake.set()
        deadline = time.monotonic() + timeout

        def wait(thread: threading.Thread) -> None:
            while thread.is_alive() and time.monotonic() < deadline:
                if give_up is not None and give_up():
                    return
                thread.join(min(0.1, max(0.0, deadline - time.monotonic())))

        if self._thread is not None:
            wait(self._thread)  # first: it may have started one more worker
            self._thread = None
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            wait(worker)
        return sorted(self.running())

    def wake(self) -> None:
        """Look at the queue now (after a submission)."""
        self._wake.set()

    # -- state -------------------------------------------------------------------------

    def devices(self) -> list[str]:
        if self._devices is None:
            self._devices = list(self._detect()) or ["cpu"]
        return self._devices

    def known_devices(self) -> list[str] | None:
        """The devices, if they were detected already (None: not yet; detecting imports
        torch)."""
        return list(self._devices) if self._devices is not None else None

    def running(self) -> dict[str, str]:
        """job id → device of the jobs running now."""
        with self._lock:
            return {job_id: device for job_id, (device, _) in self._running.items()}

    def cancel(self, job_id: str) -> JobView:
        view = self.store.request_cancel(job_id)
        with self._lock:
            entry = self._running.get(job_id)
        if entry is not None:
            entry[1].set()
        self._wake.set()
        return view

    # -- dispatch ----------------------------------------------------------------------

    def _free_device(self) -> str | None:
        with self._lock:
            busy = [device for device, _ in self._running.values()]
        for device in self.devices():
            if busy.count(device) < self.config.max_jobs_per_device:
                return device
        return None

    def _dispatch_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._dispatch_once()
            except Exception:  # the loop must survive a bad job or a locked database
                log.exception("job dispatch failed")
            self._wake.wait(self.config.poll_seconds)
            self._wake.clear()

    def _dispatch_once(self) -> None:
        while not self._stop.is_set():
            device = self._free_device()
            if device is None:
                return
            job = self.store.claim_next(device)
            if job is None:
                return
            cancel = threading.Event()
            worker = threading.Thread(
                target=self._run_job,
                args=(job, device, cancel, self._stop),
                name=f"mochi-job-{job.view.id[:8]}",
                daemon=True,
            )
            with self._lock:
                self._running[job.view.id] = (device, cancel)
                self._workers = [w for w in self._workers if w.is_alive()] + [worker]
            worker.start()

    def _run_job(
        self, job: StoredJob, device: str, cancel: threading.Event, stop: threading.Event
    ) -> None:
        view = job.view
        workdir = self.config.jobs_dir / view.id
        try:
            private_dir(workdir)
            final = self._execute(job, device, cancel, stop, workdir)
            if final is not None:
                if self.observer is not None:
                    self.observer.job_finished(final)
                if final.state == JobState.SUCCEEDED and not self.config.keep_workdirs:
                    shutil.rmtree(workdir, ignore_errors=True)
        finally:
            with self._lock:
                self._running.pop(view.id, None)
            try:
                release_device(device)
            except Exception:  # pragma: no cover - freeing a cache must not kill the runner
                log.exception("could not release %s", device)
            self._wake.set()

    def _execute(
        self,
        job: StoredJob,
        device: str,
        cancel: threading.Event,
        stop: threading.Event,
        workdir: Path,
    ) -> JobView | None:
        view = job.view
        last_write = [0.0]

        def should_cancel() -> bool:
            if cancel.is_set() or stop.is_set():
                return True
            now = time.monotonic()
            if now - last_write[0] > 1.0:  # the flag may come from another process
                last_write[0] = now
                if self.store.cancel_requested(view.id):
                    cancel.set()
            return cancel.is_set()

        time_left, log_progress = TimeLeft(), ProgressLog(view.id, log)

        def report(stage: str, done: int, total: int, message: str) -> None:
            left = time_left.seconds(stage, done, total)
            self.store.update_progress(view.id, JobProgress(stage, done, total, message, left))
            log_progress(stage, done, total, message, left)

        ctx = JobContext(
            job=view,
            workdir=workdir,
            device=device,
            resume=job.resume,
            report=report,
            should_cancel=should_cancel,
        )
        handler = self.handlers.get(view.kind)
        try:
            if handler is None:
                raise RuntimeError(f"this daemon has no handler for {view.kind.value!r} jobs")
            with use_device(device):
                result = handler(ctx)
            return self.store.finish(view.id, JobState.SUCCEEDED, result=result)
        except Exception as exc:
            if stop.is_set() and not self.store.cancel_requested(view.id):
                log.info("job %s stopped by the shutdown; it resumes on the next start", view.id)
                self.store.requeue(view.id)
                return None
            if cancel.is_set() or isinstance(exc, JobCancelled):
                return self.store.finish(view.id, JobState.CANCELLED, error="cancelled")
            log.error("job %s failed:\n%s", view.id, traceback.format_exc())
            return self.store.finish(view.id, JobState.FAILED, error=_describe(exc))


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc)
    return f"{name}: {text}" if text else name
