"""Where the served expert set comes from and when it changed, as specifications:
`routing.expert_set` as a folder or a set's name, the `default` set of mode = "learned",
a set's folder of versions followed through its `current` pointer (published the way the
trainer publishes it), what counts as a new version, and which of the trainer's adapters
a refresh loads. Also the params `mochi.train` checks for a `train-experts` job."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from expert_sets import adapter_folders, publish_set
from recording_generator import RecordingGenerator, UnloadingGenerator

from mochi.rag.routing.expert_set import ExpertCard
from mochi.server.config import RoutingConfig
from mochi.server.routing.factory import expert_set_folder, load_expert_set, served_version
from mochi.server.routing.served import ServedExperts
from mochi.server.training_jobs import JobParamsError, job_params
from mochi.trainer.protocol import AdapterView, JobKind


def publish(sets: Path, experts: dict[str, Path], name: str = "default") -> Path:
    """The next version of set `name`, published as a train-experts job publishes it."""
    cards = (
        ExpertCard(expert, str(folder), "v1", ("python",), (f"{expert}/*",), 4, (1.0, 0.0))
        for expert, folder in experts.items()
    )
    return publish_set(sets, cards, name).folder


@pytest.fixture
def adapters(tmp_path: Path) -> dict[str, Path]:
    return adapter_folders(tmp_path / "adapters", ("sql", "css", "docs"))


# -- routing.expert_set -> the folder ------------------------------------------------------


def test_no_set_is_asked_for_by_default(tmp_path: Path) -> None:
    assert expert_set_folder(RoutingConfig(), tmp_path / "ws", tmp_path / "data") is None


def test_mode_learned_without_a_set_serves_the_default_set(tmp_path: Path) -> None:
    folder = expert_set_folder(RoutingConfig(mode="learned"), tmp_path / "ws", tmp_path / "data")
    assert folder == tmp_path / "data" / "expert-sets" / "default"  # published or not yet


def test_a_bare_name_is_the_trainers_set_of_that_name(tmp_path: Path) -> None:
    root, data = tmp_path / "ws", tmp_path / "data"
    (data / "expert-sets" / "mine").mkdir(parents=True)
    (root / "mine").mkdir(parents=True)  # the published set wins over a workspace folder
    assert expert_set_folder(RoutingConfig(expert_set="mine"), root, data) == (
        data / "expert-sets" / "mine"
    )


def test_a_bare_name_not_published_is_a_workspace_folder_when_there_is_one(
    tmp_path: Path,
) -> None:
    root, data = tmp_path / "ws", tmp_path / "data"
    (root / "experts").mkdir(parents=True)
    assert expert_set_folder(RoutingConfig(expert_set="experts"), root, data) == root / "experts"
    # neither: the trainer's (the watch serves it once it is published)
    assert expert_set_folder(RoutingConfig(expert_set="other"), root, data) == (
        data / "expert-sets" / "other"
    )


def test_a_path_is_relative_to_the_workspace_or_absolute(tmp_path: Path) -> None:
    root, data = tmp_path / "ws", tmp_path / "data"
    (data / "expert-sets" / "experts").mkdir(parents=True)
    assert expert_set_folder(RoutingConfig(expert_set="./experts"), root, data) == (
        root / "experts"
    )
    assert expert_set_folder(RoutingConfig(expert_set="sets/a"), root, data) == root / "sets/a"
    absolute = str(tmp_path / "elsewhere")
    assert expert_set_folder(RoutingConfig(expert_set=absolute), root, data) == Path(absolute)
    home = expert_set_folder(RoutingConfig(expert_set="~/sets"), root, data)
    assert home == Path(os.path.expanduser("~/sets"))


def test_reload_seconds_must_not_be_negative() -> None:
    from mochi.rag.config import ConfigError

    with pytest.raises(ConfigError, match=r"routing\.reload_seconds"):
        RoutingConfig(reload_seconds=-1)


# -- the version in service ------------------------------------------------------------------


def test_a_set_folder_is_followed_to_its_current_version(
    tmp_path: Path, adapters: dict[str, Path]
) -> None:
    sets = tmp_path / "data" / "expert-sets"
    assert served_version(sets / "default") is None  # nothing published yet
    v1 = publish(sets, {"sql": adapters["sql"], "css": adapters["css"]})
    found = served_version(sets / "default")
    assert found is not None and found[0] == v1 == sets / "default" / "v1"
    assert served_version(v1) == found  # a version folder is its own version
    generator = RecordingGenerator()
    loaded = load_expert_set(sets / "default", generator, temperature=0.1)
    assert (loaded.folder, loaded.source, loaded.expert_set.version) == (v1, sets / "default", "v1")
    assert {name: Path(path).resolve() for name, path in generator.loaded.items()} == {
        "sql": adapters["sql"],
        "css": adapters["css"],
    }


def test_a_broken_pointer_is_no_version(tmp_path: Path, adapters: dict[str, Path]) -> None:
    sets = tmp_path / "expert-sets"
    publish(sets, {"sql": adapters["sql"]})
    (sets / "default" / "current").write_text("v9\n")
    assert served_version(sets / "default") is None


def test_a_new_version_is_a_change_until_it_is_loaded(
    tmp_path: Path, adapters: dict[str, Path]
) -> None:
    sets = tmp_path / "expert-sets"
    served = ServedExperts(source=sets / "default")
    assert not served.set_changed()  # none published: nothing to load
    publish(sets, {"sql": adapters["sql"], "css": adapters["css"]})
    assert served.set_changed()
    generator = UnloadingGenerator()
    served.loaded = load_expert_set(sets / "default", generator, 0.1)
    assert not served.set_changed()
    assert served.label() == "default v1"

    publish(sets, {"docs": adapters["docs"], "css": adapters["css"]})  # sql became docs
    assert served.set_changed()
    served.loaded = load_expert_set(sets / "default", generator, 0.1, served.loaded)
    assert not served.set_changed()
    assert set(generator.loaded) == {"docs", "css"}  # the expert that left is unloaded
    description = served.describe()
    assert description is not None
    assert (description["name"], description["version"]) == ("default", "v2")
    assert description["experts"] == {"docs": "v1", "css": "v1"}
    assert description["gate"] == "CentroidGate"


def test_a_generator_that_cannot_unload_keeps_the_expert_that_left(
    tmp_path: Path, adapters: dict[str, Path]
) -> None:
    sets = tmp_path / "expert-sets"
    publish(sets, {"sql": adapters["sql"]})
    generator = RecordingGenerator()
    first = load_expert_set(sets / "default", generator, 0.1)
    publish(sets, {"docs": adapters["docs"]})
    load_expert_set(sets / "default", generator, 0.1, first)
    assert set(generator.loaded) == {"sql", "docs"}


def test_a_version_folder_served_as_it_is_has_no_set_name(
    tmp_path: Path, adapters: dict[str, Path]
) -> None:
    v1 = publish(tmp_path / "expert-sets", {"sql": adapters["sql"]})
    served = ServedExperts(source=v1, loaded=load_expert_set(v1, RecordingGenerator(), 0.1))
    assert served.label() == "v1" and not served.set_changed()
    assert served.describe() is not None and served.describe()["name"] == ""  # type: ignore[index]


# -- the trainer's adapters ------------------------------------------------------------------


def view(name: str, version: str) -> AdapterView:
    return AdapterView(name, version, f"/data/adapters/{name}/{version}", "tiny", current=True)


def test_a_refresh_loads_the_trainers_new_versions_only(
    tmp_path: Path, adapters: dict[str, Path]
) -> None:
    served = ServedExperts()
    assert served.adapters_to_load([view("default", "v1")], set()) == [view("default", "v1")]
    served.adapters["default"] = view("default", "v1").path
    assert served.adapters_to_load([view("default", "v1")], set()) == []
    # the commit hook's continual job published v2
    assert served.adapters_to_load([view("default", "v2")], set()) == [view("default", "v2")]
    # configured by hand (model.adapters) wins
    assert served.adapters_to_load([view("docs", "v1")], {"docs"}) == []


def test_the_served_sets_experts_are_not_loaded_twice(
    tmp_path: Path, adapters: dict[str, Path]
) -> None:
    sets = tmp_path / "expert-sets"
    publish(sets, {"sql": adapters["sql"]})
    served = ServedExperts(
        sets / "default", load_expert_set(sets / "default", RecordingGenerator(), 0.1)
    )
    found = served.adapters_to_load([view("default.sql", "v1"), view("other", "v1")], set())
    assert found == [view("other", "v1")]


# -- mochi.train's params ----------------------------------------------------------------------


def test_train_experts_params_are_checked_and_put_over_the_configured() -> None:
    configured = {"train": {"max_steps": 10}, "rule": "language"}
    params = job_params(JobKind.TRAIN_EXPERTS, configured, {"rule": "kmeans", "min_samples": 8})
    assert params == {"train": {"max_steps": 10}, "rule": "kmeans", "min_samples": 8}
    assert job_params(JobKind.TRAIN_EXPERTS, {}, None) == {}
    with pytest.raises(JobParamsError, match=r"params\.rule must be one of"):
        job_params(JobKind.TRAIN_EXPERTS, {}, {"rule": "size"})
    with pytest.raises(JobParamsError, match=r"params\.min_samples"):
        job_params(JobKind.TRAIN_EXPERTS, {}, {"min_samples": 0})
    with pytest.raises(JobParamsError, match="train-experts' only"):
        job_params(JobKind.FINETUNE, {}, {"rule": "directory"})
    with pytest.raises(JobParamsError, match="must be an object"):
        job_params(JobKind.FINETUNE, {}, ["rule"])
