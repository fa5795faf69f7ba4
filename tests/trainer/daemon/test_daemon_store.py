"""The job queue: SQLite in WAL mode, atomic claims, nothing lost across a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from mochi.trainer.jobs.store import JobStore
from mochi.trainer.protocol import JobKind, JobProgress, JobRequest, JobState


def request(workspace: str = "/ws", kind: JobKind = JobKind.FINETUNE) -> JobRequest:
    return JobRequest(kind, workspace, "default", {"train": {"max_steps": 3}})


def test_the_queue_is_a_wal_database(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    assert store.journal_mode() == "wal"
    assert (tmp_path / "jobs.sqlite3").exists()
    store.close()


def test_submit_get_list_progress_finish(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "q.sqlite3")
    first, created = store.submit(request())
    second, _ = store.submit(request("/other", JobKind.EVAL))
    assert created and first.state == JobState.QUEUED
    assert store.get(first.id).params == {"train": {"max_steps": 3}}
    assert [v.id for v in store.list()] == [first.id, second.id]

    claimed = store.claim_next("cpu")
    assert claimed is not None and claimed.view.id == first.id
    assert claimed.view.state == JobState.RUNNING and claimed.device == "cpu"
    store.update_progress(first.id, JobProgress("train", 2, 10, "step 2"))
    assert store.get(first.id).progress == JobProgress("train", 2, 10, "step 2")
    store.update_progress(first.id, JobProgress("train", 3, 10, "", seconds_left=42.5))
    assert store.get(first.id).progress.seconds_left == 42.5  # the job events carry it
    done = store.finish(first.id, JobState.SUCCEEDED, result={"version": "v1"})
    assert done.result == {"version": "v1"} and done.finished_at is not None
    assert [v.id for v in store.list(JobState.QUEUED)] == [second.id]
    assert [v.id for v in store.list(JobState.SUCCEEDED)] == [first.id]
    assert store.counts()[("eval", "queued")] == 1
    store.close()


def test_claim_is_atomic_under_two_threads(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    store = JobStore(path)
    ids = {store.submit(request(f"/ws{i}"))[0].id for i in range(40)}
    claims: dict[str, list[str]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        own = JobStore(path)  # a second connection as well as a second thread
        start.wait()
        while (job := own.claim_next(name)) is not None:
            claims[name].append(job.view.id)
        own.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in claims]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claims["a"] + claims["b"]) == sorted(ids)  # each claimed exactly once
    assert not set(claims["a"]) & set(claims["b"])
    assert all(store.get(i).state == JobState.RUNNING for i in ids)
    store.close()


def test_running_jobs_of_a_dead_daemon_are_requeued_for_resume(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "q.sqlite3")
    running, _ = store.submit(request("/a"))
    cancelling, _ = store.submit(request("/b"))
    waiting, _ = store.submit(request("/c"))
    store.claim_next("cpu")
    store.claim_next("cpu")
    store.request_cancel(cancelling.id)
    store.close()

    reopened = JobStore(tmp_path / "q.sqlite3")
    assert reopened.recover() == [running.id]
    again = reopened.get_stored(running.id)
    assert again.view.state == JobState.QUEUED and again.resume
    assert reopened.get(cancelling.id).state == JobState.CANCELLED
    assert reopened.get(waiting.id).state == JobState.QUEUED
    reclaimed = reopened.claim_next("cpu")
    assert reclaimed is not None and reclaimed.view.id == running.id and reclaimed.attempts == 2
    reopened.close()


def test_cancel_of_a_queued_job_is_immediate(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "q.sqlite3")
    view, _ = store.submit(request())
    assert store.request_cancel(view.id).state == JobState.CANCELLED
    assert store.claim_next("cpu") is None
    store.close()


def test_continual_submissions_are_debounced_while_one_waits(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "q.sqlite3")
    first, created = store.submit(request(kind=JobKind.CONTINUAL), debounce=True)
    again, again_created = store.submit(request(kind=JobKind.CONTINUAL), debounce=True)
    other, other_created = store.submit(request("/elsewhere", JobKind.CONTINUAL), debounce=True)
    assert created and not again_created and again.id == first.id
    assert other_created and other.id != first.id
    store.claim_next("cpu")  # once it runs, a new commit needs a new job
    later, later_created = store.submit(request(kind=JobKind.CONTINUAL), debounce=True)
    assert later_created and later.id not in (first.id, other.id)
    store.close()


WRITER = textwrap.dedent(
    """
    import sys
    from mochi.trainer.jobs.store import JobStore
    from mochi.trainer.protocol import JobKind, JobRequest
    store = JobStore(__import__("pathlib").Path(sys.argv[1]))
    i = 0
    while True:
        view, _ = store.submit(JobRequest(JobKind.FINETUNE, f"/ws{i}"))
        if i % 3 == 0:
            store.claim_next("cpu")
        print(view.id, flush=True)
        i += 1
    """
)


def test_nothing_committed_is_lost_on_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "q.sqlite3"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    acknowledged = [proc.stdout.readline().strip() for _ in range(30)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = JobStore(path)
    requeued = set(store.recover())
    listed = {v.id: v for v in store.list()}
    assert set(acknowledged) <= set(listed)
    assert all(v.state == JobState.QUEUED for v in listed.values())
    assert requeued  # the claimed ones came back to the queue, marked for resume
    assert all(store.get_stored(i).resume for i in requeued)
    store.close()
