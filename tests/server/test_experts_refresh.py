"""The one place the served experts change, in-process (the real server object, its
features registered as `mochi serve` registers them; a recording generator and a fake
daemon): a new version of the expert set in service and a newer adapter version the
commit hook's job published are loaded and swapped in without a restart; a broken new
version leaves what serves in place; the watch finds both on its own; mochi.train
starts a train-experts job."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from expert_sets import adapter_folders, publish_set
from lsp_wire import offline_server, wire
from pygls.exceptions import JsonRpcInvalidParams
from recording_generator import RecordingGenerator

from mochi.rag.routing.expert_set import ExpertCard
from mochi.server.config import MochiConfig, RoutingConfig
from mochi.server.lsp.experts import load_trained_adapters, refresh_experts, start_watch
from mochi.server.lsp.features.training import job_request
from mochi.server.lsp.routing_setup import configure_routing
from mochi.server.lsp.server import MochiServer
from mochi.server.routing import LearnedRouter, RouteQuery
from mochi.server.trainer_client import TrainerState
from mochi.trainer.protocol import AdapterView, JobKind, JobRequest, JobView

WORDS = ("select", "where", "color", "margin")
SQL = "rows = db.run('select name from users where id = 1')\n"
CSS = "style = {'color': 'red', 'margin': 0}\n"


def keyword_embed(texts: Sequence[str]) -> np.ndarray:
    return np.array([[t.count(word) for word in WORDS] for t in texts], dtype=float)


class Daemon:
    """A TrainingClient whose registry the test moves on (as a hook's job would)."""

    def __init__(self) -> None:
        self.current: list[AdapterView] = []

    def state(self) -> TrainerState:
        return TrainerState.READY

    def submit(self, request: JobRequest) -> JobView:
        raise AssertionError("not used")

    def submit_finetune(self, workspace: str, adapter: str) -> str:
        raise AssertionError("not used")

    def job(self, job_id: str) -> JobView:
        raise AssertionError("not used")

    def events(self, job_id: str) -> Iterator[JobView]:
        raise AssertionError("not used")

    def cancel(self, job_id: str) -> JobView:
        raise AssertionError("not used")

    def adapters(self) -> list[AdapterView]:
        return list(self.current)


@pytest.fixture
def adapters(tmp_path: Path) -> dict[str, Path]:
    return adapter_folders(tmp_path / "adapters", ("sql", "sql2", "css"))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MochiServer]:
    server = offline_server()
    state = server.state
    state.root = tmp_path / "ws"
    state.config = MochiConfig(
        data_dir=str(tmp_path / "data"), routing=RoutingConfig(mode="learned", threshold=0.5)
    )
    state.generator = RecordingGenerator()
    state.experts.embed = keyword_embed  # no index: no MiniLM either
    state.trainer = Daemon()
    yield server
    state.close()


def publish(tmp_path: Path, experts: dict[str, tuple[Path, tuple[float, ...]]]) -> Path:
    cards = (
        ExpertCard(name, str(folder), "v1", ("python",), (), 4, centroid)
        for name, (folder, centroid) in experts.items()
    )
    return publish_set(tmp_path / "data" / "expert-sets", cards).folder


def expert_for(server: MochiServer, text: str) -> str | None:
    state = server.state
    assert state.engine is not None and state.engine.router is state.router
    query = RouteQuery("completion", "a.py", "python", text)
    return state.router.route(query, state.generator.adapters()).expert  # type: ignore[union-attr]


def messages(server: MochiServer) -> list[str]:
    data = wire(server).data
    return [m.decode() for m in data.split(b"Content-Length") if b"showMessage" in m]


SQL_AXIS, CSS_AXIS = (1.0, 1.0, 0.0, 0.0), (0.0, 0.0, 1.0, 1.0)


def test_a_new_version_of_the_set_is_swapped_in_without_a_restart(
    server: MochiServer, tmp_path: Path, adapters: dict[str, Path]
) -> None:
    state = server.state

    async def scenario() -> None:
        await configure_routing(server)  # learned, expert_set = "": no default set yet
        assert state.experts.loaded is None and not isinstance(state.router, LearnedRouter)
        assert not await refresh_experts(server)

        publish(tmp_path, {"sql": (adapters["sql"], SQL_AXIS), "css": (adapters["css"], CSS_AXIS)})
        assert await refresh_experts(server)
        assert isinstance(state.router, LearnedRouter)
        assert state.experts.label() == "default v1"
        assert expert_for(server, SQL) == "sql"

        # v2: the SQL domain's expert is another (retrained under a new name)
        publish(
            tmp_path, {"sql2": (adapters["sql2"], SQL_AXIS), "css": (adapters["css"], CSS_AXIS)}
        )
        assert await refresh_experts(server)
        assert state.experts.label() == "default v2"
        assert expert_for(server, SQL) == "sql2"
        assert expert_for(server, CSS) == "css"
        assert Path(state.generator.loaded["sql2"]).resolve() == adapters["sql2"]  # type: ignore[union-attr]
        assert not await refresh_experts(server)  # nothing new

    asyncio.run(scenario())
    assert any("expert set default v2 in service" in m for m in messages(server))


def test_a_broken_new_version_leaves_the_set_in_service(
    server: MochiServer, tmp_path: Path, adapters: dict[str, Path]
) -> None:
    state = server.state
    v1 = publish(tmp_path, {"sql": (adapters["sql"], SQL_AXIS), "css": (adapters["css"], CSS_AXIS)})

    async def scenario() -> None:
        await configure_routing(server)
        assert state.experts.label() == "default v1"
        v2 = v1.parent / "v2"  # a version whose gate this mochi cannot read
        v2.mkdir()
        data = json.loads((v1 / "expert_set.json").read_text())
        data.update(version="v2", router="router.json", feature_version=999)
        (v2 / "expert_set.json").write_text(json.dumps(data))
        (v1.parent / "current").write_text("v2\n")
        assert not await refresh_experts(server)
        assert state.experts.label() == "default v1" and isinstance(state.router, LearnedRouter)
        assert not await refresh_experts(server)  # not tried again until another is published

    asyncio.run(scenario())
    assert len([m for m in messages(server) if "the experts in service stay" in m]) == 1


def test_a_hook_published_adapter_version_is_loaded_without_a_restart(
    server: MochiServer,
) -> None:
    state = server.state
    daemon = state.trainer
    assert isinstance(daemon, Daemon)
    generator = state.generator
    assert isinstance(generator, RecordingGenerator)

    def version(n: int) -> AdapterView:
        return AdapterView("default", f"v{n}", f"/reg/default/v{n}", "tiny", current=True)

    async def scenario() -> None:
        daemon.current = [version(1)]
        assert await load_trained_adapters(server) == ["default v1"]  # start-up
        engine = state.engine
        daemon.current = [version(2)]  # `mochi hooks`' continual job published v2
        await refresh_experts(server)
        assert generator.loaded["default"] == "/reg/default/v2"
        assert state.engine is not engine  # the next request sees it
        await refresh_experts(server)
        assert await load_trained_adapters(server) == []  # loaded once

    asyncio.run(scenario())
    assert any("new adapters: default v2" in m for m in messages(server))


def test_the_watch_finds_a_new_version_on_its_own(
    server: MochiServer, tmp_path: Path, adapters: dict[str, Path]
) -> None:
    state = server.state
    state.config.routing.reload_seconds = 0.05
    daemon = state.trainer
    assert isinstance(daemon, Daemon)

    async def scenario() -> None:
        await configure_routing(server)
        state.generator_ready.set()
        start_watch(server)
        publish(tmp_path, {"sql": (adapters["sql"], SQL_AXIS), "css": (adapters["css"], CSS_AXIS)})
        daemon.current = [AdapterView("docs", "v1", "/reg/docs/v1", "tiny", current=True)]
        for _ in range(200):
            if state.experts.label() == "default v1" and "docs" in state.experts.adapters:
                break
            await asyncio.sleep(0.05)
        assert state.experts.label() == "default v1"
        assert state.experts.adapters == {"docs": "/reg/docs/v1"}
        assert expert_for(server, CSS) == "css"

    asyncio.run(scenario())


def test_mochi_train_starts_a_train_experts_job_with_its_params(
    server: MochiServer, tmp_path: Path
) -> None:
    server.state.config.trainer.job_params = {"train": {"max_steps": 5}}
    request = job_request(server, ("default", "train-experts", {"rule": "directory"}))
    assert (request.kind, request.adapter, request.workspace) == (
        JobKind.TRAIN_EXPERTS,
        "default",
        str(tmp_path / "ws"),
    )
    assert request.params == {"train": {"max_steps": 5}, "rule": "directory"}
    with pytest.raises(JsonRpcInvalidParams, match=r"argument 3 \(params\): params\.rule"):
        job_request(server, ("default", "train-experts", {"rule": "size"}))
    with pytest.raises(JsonRpcInvalidParams, match="train-experts"):
        job_request(server, ("default", "eval"))
