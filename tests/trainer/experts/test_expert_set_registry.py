"""Publishing expert sets: versions appear whole, `current` moves only after, cards point
at the adapters relative to the set's folder, a failed publish leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from mochi.rag.routing.expert_set import (
    ExpertCard,
    ExpertSet,
    current_set_folder,
    read_expert_set,
)
from mochi.trainer.experts.publish import (
    ExpertSetRegistry,
    SetRecord,
    expert_sets_root,
    set_scores,
)
from mochi.trainer.registry import RegistryError, UnknownAdapter


def adapter(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "adapters" / name / "v1"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text("{}")
    return folder


def a_set(*folders: Path) -> ExpertSet:
    cards = tuple(
        ExpertCard(f.parent.name, str(f), "v1", ("python",), ("*.py",), 10, (1.0, 0.0))
        for f in folders
    )
    return ExpertSet("", "language", "tiny", cards, None, 0, {"loss": 1.5})


def test_publish_writes_versions_and_moves_current(tmp_path: Path) -> None:
    registry = ExpertSetRegistry(expert_sets_root(tmp_path / "adapters"))
    assert registry.root == tmp_path / "expert-sets" and registry.current("default") is None
    python = adapter(tmp_path, "default.python")
    router = tmp_path / "gate.json"
    router.write_text('{"format": "mochi-linear-gate"}')
    first = registry.publish("default", a_set(python), SetRecord("job1", "abc", "h"), router=router)
    assert first.folder == registry.root / "default" / "v1"
    read = read_expert_set(first.folder)
    assert read.version == "v1" and read.router == "router.json"
    assert read.experts[0].adapter == "../../../adapters/default.python/v1"
    assert read.adapter_path(first.folder, read.experts[0]).resolve() == python
    assert read.router_path(first.folder).read_text() == router.read_text()  # type: ignore[union-attr]

    second = registry.publish("default", a_set(python), SetRecord("job2", "def", "h"))
    assert second.expert_set.version == "v2" and second.expert_set.router is None
    current = registry.current("default")
    assert current is not None and current.folder.name == "v2" and current.record.commit == "def"
    assert registry.versions("default") == ["v1", "v2"]
    assert current_set_folder(registry.root / "default") == current.folder  # what the server reads
    assert registry.by_job("default", "job1").folder.name == "v1"  # type: ignore[union-attr]
    assert registry.by_job("default", "job3") is None


def test_a_missing_adapter_fails_the_publish_and_leaves_nothing(tmp_path: Path) -> None:
    registry = ExpertSetRegistry(tmp_path / "sets")
    with pytest.raises(RegistryError, match="does not exist"):
        registry.publish("default", a_set(tmp_path / "nowhere" / "v1"), SetRecord("j", "c", "h"))
    assert registry.versions("default") == [] and registry.current("default") is None
    assert not list((tmp_path / "sets" / "default").glob(".tmp-*"))


def test_a_crash_mid_publish_is_swept_away(tmp_path: Path) -> None:
    registry = ExpertSetRegistry(tmp_path / "sets")
    leftover = tmp_path / "sets" / "default" / ".tmp-dead"
    leftover.mkdir(parents=True)
    (leftover / "expert_set.json").write_text("{")
    registry.publish("default", a_set(adapter(tmp_path, "x")), SetRecord("j", "c", "h"))
    assert not leftover.exists() and registry.versions("default") == ["v1"]


def test_unknown_versions_and_names_are_refused(tmp_path: Path) -> None:
    registry = ExpertSetRegistry(tmp_path / "sets")
    with pytest.raises(UnknownAdapter, match="no version 'v9'"):
        registry.get("default", "v9")
    with pytest.raises(ValueError, match="adapter name"):
        registry.versions("../escape")


def test_set_scores_weight_each_expert_by_its_held_out_samples() -> None:
    scores = set_scores(
        {
            "a": {"loss": 1.0, "next_line_em": 1.0, "count": 3.0},
            "b": {"loss": 3.0, "next_line_em": 0.0, "count": 1.0},
            "c": {},  # no held-out samples of its domain
        }
    )
    assert scores["loss"] == 1.5 and scores["next_line_em"] == 0.75 and scores["count"] == 4.0
    assert scores["b.loss"] == 3.0 and "c.loss" not in scores
