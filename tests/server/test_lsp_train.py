"""Acceptance: from the editor side, `mochi.train` runs a LoRA job in a real training
daemon (`mochi trainer serve`, a separate process), the client sees its progress, the
adapter is published through the eval gate, and the next completion uses it.

Tiny random Llama on CPU; real git repository, real daemon, real pytest-lsp client."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from daemon_process import DaemonProcess
from lsp_fixtures import (
    MAIN_PY,
    SERVER_COMMAND,
    build_repo,
    command,
    end_of,
    inline,
    open_doc,
    wait_until_indexed,
)
from lsprotocol import types
from ports import free_port
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from mochi.server.trainer_http import HttpTrainingClient
from mochi.trainer.protocol import token_path

pytestmark = [pytest.mark.slow]

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
JOB_PARAMS = {
    "train": {
        "max_steps": 12,
        "checkpoint_every": 6,
        "batch_size": 2,
        "rank": 4,
        "alpha": 8,
        "max_seq_len": 128,
        "learning_rate": 0.01,
        "warmup_steps": 0,
        "fisher_samples": 4,
        "replay_size": 8,
    },
    "dataset": {"samples_per_unit": 2, "max_commits": 10, "eval_fraction": 0.3},
    "gate_tolerance": 0.05,
}


@pytest.fixture
def daemon(tmp_path: Path, tiny_model_dir: Path) -> Iterator[DaemonProcess]:
    xdg = tmp_path / "daemon-xdg"
    xdg.mkdir()
    process = DaemonProcess(xdg, tiny_model_dir, free_port())
    process.start()
    yield process
    process.kill()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND, server_env=ENV))
async def client(
    lsp_client: LanguageClient, tmp_path: Path, tiny_model_dir: Path, daemon: DaemonProcess
) -> AsyncIterator[None]:
    repo = build_repo(tmp_path / "ws")
    lsp_client.repo = repo  # type: ignore[attr-defined]
    lsp_client.daemon = daemon  # type: ignore[attr-defined]
    token = token_path(daemon.xdg / "mochi").read_text().strip()
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=repo.root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(uri=repo.root.as_uri(), name="ws")],
            initialization_options={
                "dataDir": str(tmp_path / "server-data"),
                "model": {"name": str(tiny_model_dir), "dtype": "float32"},
                "trainer": {"url": daemon.url, "token": token, "jobParams": JOB_PARAMS},
            },
        )
    )
    await wait_until_indexed(lsp_client)
    yield
    await lsp_client.shutdown_session()


def training_reports(client: LanguageClient) -> list[Any]:
    for reports in client.progress_reports.values():
        first = reports[0] if reports else None
        if isinstance(first, types.WorkDoneProgressBegin) and "training" in first.title:
            return reports
    return []


async def wait_for_message(client: LanguageClient, text: str, timeout: float = 300) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for message in client.messages:
            if text in message.message:
                return message.message
        await asyncio.sleep(0.2)
    shown = [m.message for m in client.messages]
    log = client.daemon.log()  # type: ignore[attr-defined]
    raise AssertionError(f"no message with {text!r}; got {shown}\ndaemon log:\n{log[-3000:]}")


@pytest.mark.asyncio
async def test_train_publishes_and_the_next_completion_uses_the_adapter(
    client: LanguageClient,
) -> None:
    text = MAIN_PY + "\n\ndef multiply(a, b):\n    return "
    uri = open_doc(client, "app/main.py", text)
    await inline(client, uri, end_of(text))
    before = await command(client, "mochi.timings")
    assert before and before[-1]["adapter"] is None  # no adapter yet: the base model
    status = await command(client, "mochi.status")
    assert status["trainer"] == "ready" and status["adapters"] == []

    job_id = await command(client, "mochi.train")
    assert isinstance(job_id, str) and job_id

    message = await wait_for_message(client, "training done")
    assert "published and loaded" in message, message

    # Progress in the client: begin, reports from the training stage, end.
    reports = training_reports(client)
    assert isinstance(reports[0], types.WorkDoneProgressBegin)
    assert isinstance(reports[-1], types.WorkDoneProgressEnd)
    assert reports[-1].message == "succeeded"
    stages = [r.message or "" for r in reports if isinstance(r, types.WorkDoneProgressReport)]
    assert any(stage.startswith("train") for stage in stages), stages

    # Published through the eval gate: the job's result carries the held-out scores.
    daemon: DaemonProcess = client.daemon  # type: ignore[attr-defined]
    trainer = HttpTrainingClient(daemon.url, token_path(daemon.xdg / "mochi").read_text())
    job = trainer.job(job_id)
    assert job.result["published"] is True and job.result["version"] == "v1"
    assert {"loss", "next_line_em"} <= set(job.result["metrics"])
    [adapter] = trainer.adapters()
    assert adapter.name == "default" and adapter.current and adapter.version == "v1"

    # The server loaded it, and the router sends the next completion through it.
    status = await command(client, "mochi.status")
    assert status["adapters"] == ["default"]
    await inline(client, uri, end_of(text))
    after = await command(client, "mochi.timings")
    assert after[-1]["adapter"] == "default"


@pytest.mark.asyncio
async def test_train_with_a_bad_kind_is_refused(client: LanguageClient) -> None:
    with pytest.raises(Exception, match="kind"):
        await command(client, "mochi.train", "default", "nonsense")
