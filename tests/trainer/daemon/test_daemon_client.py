"""The server's HttpTrainingClient against a live daemon, and its errors."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest
from daemon_helpers import LiveDaemon, StepHandler
from ports import free_port

from mochi.server import trainer_http
from mochi.server.config import TrainerConfig
from mochi.server.trainer_client import (
    NoTrainer,
    TrainerRequestError,
    TrainerState,
    TrainerUnavailable,
)
from mochi.server.trainer_http import HttpTrainingClient, make_trainer
from mochi.trainer.api import events
from mochi.trainer.protocol import JobKind, JobRequest, JobState, token_path


def test_submit_follow_and_list(
    live_daemon: LiveDaemon, workspace: Path, step_handler: StepHandler
) -> None:
    client = HttpTrainingClient(live_daemon.url, live_daemon.token)
    assert client.state() == TrainerState.READY
    view = client.submit(JobRequest(JobKind.FINETUNE, str(workspace), "mine"))
    assert view.state == JobState.QUEUED and view.adapter == "mine"
    assert client.job(view.id).id == view.id
    step_handler.release.set()
    seen = list(client.events(view.id))
    assert seen[-1].state == JobState.SUCCEEDED and seen[-1].result["published"] is True
    assert any(v.progress.done > 0 for v in seen)
    assert client.submit_finetune(str(workspace), "mine")
    assert client.adapters() == []
    with pytest.raises(TrainerRequestError, match="no job"):
        client.job("nope")
    with pytest.raises(TrainerRequestError, match="workspace"):
        client.submit(JobRequest(JobKind.FINETUNE, "/no/such/dir"))


def test_the_token_comes_from_the_data_dir_when_not_configured(live_daemon: LiveDaemon) -> None:
    data = live_daemon.parts.config.data_dir
    assert token_path(data).is_file()
    client = make_trainer(TrainerConfig(url=live_daemon.url), data_dir=data)
    assert client.state() == TrainerState.READY
    assert isinstance(make_trainer(TrainerConfig()), NoTrainer)


def test_a_wrong_token_is_a_clear_error(live_daemon: LiveDaemon, tmp_path: Path) -> None:
    client = HttpTrainingClient(live_daemon.url, "wrong", data_dir=tmp_path)
    assert client.state() == TrainerState.UNAUTHORIZED
    with pytest.raises(TrainerUnavailable, match="refused the token"):
        client.adapters()


def test_a_daemon_that_is_down_is_a_clear_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = HttpTrainingClient(url, "t", data_dir=tmp_path)
    assert client.state() == TrainerState.UNREACHABLE
    with pytest.raises(TrainerUnavailable, match=r"not reachable.*mochi trainer serve"):
        client.submit_finetune("/ws", "default")
    with pytest.raises(TrainerUnavailable, match="not reachable"):
        list(client.events("x"))


def test_a_quiet_job_stays_followed_through_keep_alives(
    live_daemon: LiveDaemon,
    workspace: Path,
    step_handler: StepHandler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "EVENTS_KEEPALIVE_SECONDS", 0.1)
    monkeypatch.setattr(trainer_http, "EVENTS_READ_TIMEOUT", 1.0)
    client = HttpTrainingClient(live_daemon.url, live_daemon.token)
    view = client.submit(JobRequest(JobKind.FINETUNE, str(workspace), "mine"))
    threading.Timer(3.0, step_handler.release.set).start()  # three read timeouts of silence
    seen = list(client.events(view.id))
    assert seen[-1].state == JobState.SUCCEEDED


def test_an_event_stream_that_goes_silent_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daemon that stops answering (suspended, the network gone) without closing the
    connection: the follower gives up after the read timeout instead of hanging."""
    monkeypatch.setattr(trainer_http, "EVENTS_READ_TIMEOUT", 0.5)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def answer_then_fall_silent() -> None:
            conn, _ = listener.accept()
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n")
            conn.sendall(b"transfer-encoding: chunked\r\n\r\n")
            time.sleep(5)
            conn.close()

        threading.Thread(target=answer_then_fall_silent, daemon=True).start()
        client = HttpTrainingClient(f"http://127.0.0.1:{port}", "t", data_dir=tmp_path)
        started = time.monotonic()
        with pytest.raises(TrainerUnavailable, match="ReadTimeout"):
            list(client.events("j1"))
        assert time.monotonic() - started < 4
