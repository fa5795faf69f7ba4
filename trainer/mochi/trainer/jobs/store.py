"""The durable job queue: one SQLite file in WAL mode.

Every state change is one committed transaction, so a `kill -9` loses nothing: on the
next start `recover()` puts the jobs a dead daemon left RUNNING back in the queue,
marked `resume` (their workdir keeps the training checkpoint); a daemon that shuts down
cleanly does the same itself with `requeue()`. The file, its -wal and -shm are 0600.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mochi.trainer.jobs.errors import JobNotFound
from mochi.trainer.jobs.private import private_dir, private_files
from mochi.trainer.protocol import JobKind, JobProgress, JobRequest, JobState, JobView

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    workspace TEXT NOT NULL,
    adapter TEXT NOT NULL,
    params TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    progress TEXT NOT NULL DEFAULT '{}',
    result TEXT NOT NULL DEFAULT '{}',
    error TEXT NOT NULL DEFAULT '',
    device TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    resume INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    revision INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, seq);
"""
_REQUEUE = (
    "UPDATE jobs SET state = ?, resume = 1, device = '', revision = revision + 1 WHERE id = ?"
)


@dataclass(frozen=True, slots=True)
class StoredJob:
    """A job as the runner sees it: the wire view plus the bookkeeping."""

    view: JobView
    device: str
    cancel_requested: bool
    resume: bool
    attempts: int
    revision: int


class JobStore:
    """Thread-safe: one SQLite connection per thread, writes in `BEGIN IMMEDIATE`."""

    def __init__(self, path: Path, *, synchronous: str = "NORMAL") -> None:
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, not {synchronous!r}")
        self.path = path
        self._synchronous = synchronous
        self._local = threading.local()
        self._all: builtins.list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        private_dir(path.parent)
        # SQLite gives its -wal and -shm files the mode of the database file.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._conn().executescript(_SCHEMA)
        private_files(path, *(path.with_name(path.name + end) for end in ("-wal", "-shm")))

    # -- connections -------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._all_lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def journal_mode(self) -> str:
        return str(self._conn().execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    # -- queries -----------------------------------------------------------------------

    def submit(self, request: JobRequest, *, debounce: bool = False) -> tuple[JobView, bool]:
        """Queue a job; returns (view, created). With `debounce`, a QUEUED job of the same
        kind, workspace and adapter is returned instead of a new one (created=False)."""
        with self._write() as db:
            if debounce:
                row = db.execute(
                    "SELECT * FROM jobs WHERE state = ? AND kind = ? AND workspace = ? "
                    "AND adapter = ? ORDER BY seq LIMIT 1",
                    (JobState.QUEUED.value, request.kind.value, request.workspace, request.adapter),
                ).fetchone()
                if row is not None:
                    return _stored(row).view, False
            job_id = uuid.uuid4().hex
            db.execute(
                "INSERT INTO jobs (id, kind, state, workspace, adapter, params, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    request.kind.value,
                    JobState.QUEUED.value,
                    request.workspace,
                    request.adapter,
                    json.dumps(request.params),
                    time.time(),
                ),
            )
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _stored(row).view, True

    def get(self, job_id: str) -> JobView:
        return self.get_stored(job_id).view

    def get_stored(self, job_id: str) -> StoredJob:
        row = self._conn().execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(job_id)
        return _stored(row)

    def list(self, state: JobState | None = None) -> builtins.list[JobView]:
        if state is None:
            rows = self._conn().execute("SELECT * FROM jobs ORDER BY seq").fetchall()
        else:
            rows = (
                self._conn()
                .execute("SELECT * FROM jobs WHERE state = ? ORDER BY seq", (state.value,))
                .fetchall()
            )
        return [_stored(r).view for r in rows]

    def counts(self) -> dict[tuple[str, str], int]:
        """(kind, state) → number of jobs."""
        rows = self._conn().execute(
            "SELECT kind, state, COUNT(*) AS n FROM jobs GROUP BY kind, state"
        )
        return {(r["kind"], r["state"]): int(r["n"]) for r in rows}

    def claim_next(self, device: str) -> StoredJob | None:
        """Atomically move the oldest QUEUED job to RUNNING on `device`."""
        with self._write() as db:
            row = db.execute(
                "SELECT id FROM jobs WHERE state = ? ORDER BY seq LIMIT 1",
                (JobState.QUEUED.value,),
            ).fetchone()
            if row is None:
                return None
            updated = db.execute(
                "UPDATE jobs SET state = ?, device = ?, started_at = COALESCE(started_at, ?), "
                "attempts = attempts + 1, revision = revision + 1 WHERE id = ? AND state = ?",
                (JobState.RUNNING.value, device, time.time(), row["id"], JobState.QUEUED.value),
            )
            if updated.rowcount != 1:  # pragma: no cover - BEGIN IMMEDIATE excludes this
                return None
            claimed = db.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone()
        return _stored(claimed)

    def update_progress(self, job_id: str, progress: JobProgress) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE jobs SET progress = ?, revision = revision + 1 WHERE id = ? AND state = ?",
                (json.dumps(_progress_json(progress)), job_id, JobState.RUNNING.value),
            )

    def finish(
        self,
        job_id: str,
        state: JobState,
        *,
        result: dict[str, Any] | None = None,
        error: str = "",
    ) -> JobView:
        if not state.finished:
            raise ValueError(f"finish() needs a final state, not {state.value!r}")
        with self._write() as db:
            updated = db.execute(
                "UPDATE jobs SET state = ?, result = ?, error = ?, finished_at = ?, "
                "revision = revision + 1 WHERE id = ?",
                (state.value, json.dumps(result or {}), error, time.time(), job_id),
            )
            if updated.rowcount != 1:
                raise JobNotFound(job_id)
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _stored(row).view

    def request_cancel(self, job_id: str) -> JobView:
        """A QUEUED job is cancelled at once; a RUNNING one is flagged (the runner's
        `should_cancel` sees it); a finished one is left as it is."""
        with self._write() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(job_id)
            if row["state"] == JobState.QUEUED.value:
                db.execute(
                    "UPDATE jobs SET state = ?, cancel_requested = 1, finished_at = ?, "
                    "revision = revision + 1 WHERE id = ?",
                    (JobState.CANCELLED.value, time.time(), job_id),
                )
            elif row["state"] == JobState.RUNNING.value:
                db.execute(
                    "UPDATE jobs SET cancel_requested = 1, revision = revision + 1 WHERE id = ?",
                    (job_id,),
                )
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _stored(row).view

    def cancel_requested(self, job_id: str) -> bool:
        row = (
            self._conn()
            .execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,))
            .fetchone()
        )
        return bool(row and row[0])

    def requeue(self, job_id: str) -> JobView:
        """A RUNNING job the daemon's shutdown stopped goes back to QUEUED, marked
        `resume`; a job in any other state is left as it is."""
        with self._write() as db:
            row = db.execute("SELECT state FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFound(job_id)
            if row["state"] == JobState.RUNNING.value:
                db.execute(_REQUEUE, (JobState.QUEUED.value, job_id))
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return _stored(row).view

    def recover(self) -> builtins.list[str]:
        """On daemon start: RUNNING jobs of a dead daemon go back to QUEUED with `resume`
        set (or to CANCELLED if their cancel had been requested). Returns the requeued ids."""
        with self._write() as db:
            rows = db.execute(
                "SELECT id, cancel_requested FROM jobs WHERE state = ?",
                (JobState.RUNNING.value,),
            ).fetchall()
            requeued = []
            for row in rows:
                if row["cancel_requested"]:
                    db.execute(
                        "UPDATE jobs SET state = ?, finished_at = ?, revision = revision + 1 "
                        "WHERE id = ?",
                        (JobState.CANCELLED.value, time.time(), row["id"]),
                    )
                else:
                    db.execute(_REQUEUE, (JobState.QUEUED.value, row["id"]))
                    requeued.append(str(row["id"]))
        return requeued


def _progress_json(progress: JobProgress) -> dict[str, Any]:
    return {
        "stage": progress.stage,
        "done": progress.done,
        "total": progress.total,
        "message": progress.message,
        "seconds_left": progress.seconds_left,
    }


def _stored(row: sqlite3.Row) -> StoredJob:
    view = JobView(
        id=row["id"],
        kind=JobKind(row["kind"]),
        state=JobState(row["state"]),
        workspace=row["workspace"],
        adapter=row["adapter"],
        params=json.loads(row["params"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        progress=JobProgress(**json.loads(row["progress"])),
        result=json.loads(row["result"]),
        error=row["error"],
    )
    return StoredJob(
        view=view,
        device=row["device"],
        cancel_requested=bool(row["cancel_requested"]),
        resume=bool(row["resume"]),
        attempts=int(row["attempts"]),
        revision=int(row["revision"]),
    )
