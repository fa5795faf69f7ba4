"""The adapter registry (atomic publish, current pointer, base-model check) and the gate."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mochi.trainer.jobs.gate import gate
from mochi.trainer.registry import (
    AdapterRegistry,
    BaseModelMismatch,
    Manifest,
    UnknownAdapter,
    base_model_id,
)
from mochi.trainer.training.evaluate import EvalScores


def fake_model(folder: Path, hidden: int = 64) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"hidden_size": hidden}))
    (folder / "model.safetensors").write_bytes(os.urandom(2048))
    return folder


def fake_adapter(folder: Path, marker: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": 4}))
    (folder / "adapter_model.safetensors").write_text(marker)
    (folder / "fisher.safetensors").write_text("fisher " + marker)
    return folder


def manifest(model: Path, name: str = "default") -> Manifest:
    base = base_model_id(model)
    return Manifest(
        name=name,
        version="",
        base_model=base.name,
        base_model_hash=base.fingerprint,
        commit="abc",
        fisher="fisher.safetensors",
    )


def test_publish_versions_and_current_pointer(tmp_path: Path) -> None:
    registry = AdapterRegistry(tmp_path / "adapters")
    model = fake_model(tmp_path / "model")
    first = registry.publish(fake_adapter(tmp_path / "a1", "one"), manifest(model))
    second = registry.publish(
        fake_adapter(tmp_path / "a2", "two"), manifest(model), make_current=False
    )
    assert (first.version, second.version) == ("v1", "v2")
    assert registry.current_version("default") == "v1"  # v2 was kept out of service
    folder = registry.path("default", "v2")
    assert (folder / "adapter_model.safetensors").read_text() == "two"
    assert Manifest.read(folder).version == "v2"
    assert [m.version for m in registry.versions("default")] == ["v1", "v2"]
    registry.set_current("default", "v2")
    assert registry.get("default").version == "v2"
    views = registry.all_views()
    assert [(v.version, v.current) for v in views] == [("v1", False), ("v2", True)]
    assert not list((tmp_path / "adapters" / "default").glob(".*tmp*"))
    with pytest.raises(UnknownAdapter, match="no version 'v9'"):
        registry.get("default", "v9")
    with pytest.raises(UnknownAdapter, match="no version in service"):
        registry.get("other")


def test_a_failed_publish_leaves_nothing_behind(tmp_path: Path) -> None:
    registry = AdapterRegistry(tmp_path / "adapters")
    model = fake_model(tmp_path / "model")
    with pytest.raises(FileNotFoundError):
        registry.publish(
            fake_adapter(tmp_path / "a1", "one"),
            manifest(model),
            extra_files={"replay.jsonl": tmp_path / "missing.jsonl"},
        )
    assert registry.versions("default") == []
    assert registry.current_version("default") is None
    assert not list((tmp_path / "adapters" / "default").glob(".tmp-*"))
    # and a crash's leftover temp folder is swept by the next publish
    (tmp_path / "adapters" / "default" / ".tmp-crashed").mkdir()
    assert registry.publish(fake_adapter(tmp_path / "a2", "x"), manifest(model)).version == "v1"
    assert not (tmp_path / "adapters" / "default" / ".tmp-crashed").exists()


def test_an_adapter_on_another_base_model_is_refused(tmp_path: Path) -> None:
    registry = AdapterRegistry(tmp_path / "adapters")
    mine = fake_model(tmp_path / "tiny-a")
    other = fake_model(tmp_path / "tiny-b", hidden=128)
    published = registry.publish(fake_adapter(tmp_path / "a1", "one"), manifest(mine))
    registry.check_base(published, base_model_id(mine))
    with pytest.raises(BaseModelMismatch) as refused:
        registry.check_base(published, base_model_id(other))
    assert "tiny-a" in str(refused.value) and "tiny-b" in str(refused.value)


def test_the_fingerprint_follows_the_weights_not_the_folder(tmp_path: Path) -> None:
    model = fake_model(tmp_path / "m")
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in model.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    assert base_model_id(copy).fingerprint == base_model_id(model).fingerprint
    (copy / "model.safetensors").write_bytes(os.urandom(2048))
    assert base_model_id(copy).fingerprint != base_model_id(model).fingerprint


def test_bad_adapter_names_are_refused(tmp_path: Path) -> None:
    registry = AdapterRegistry(tmp_path / "adapters")
    with pytest.raises(ValueError, match="adapter name"):
        registry.versions("../etc")


def test_gate_publishes_when_not_worse_and_refuses_beyond_tolerance() -> None:
    current = EvalScores(loss=2.0, next_line_em=0.5, count=10)
    assert gate(EvalScores(2.0, 0.5, 10), current, 0.0).publish
    assert gate(EvalScores(2.03, 0.49, 10), current, 0.02).publish  # within 2 % / 2 points
    assert gate(EvalScores(1.5, 0.7, 10), current, 0.0).publish
    worse_loss = gate(EvalScores(2.1, 0.5, 10), current, 0.02)
    assert not worse_loss.publish and "eval loss regressed" in worse_loss.reason
    worse_em = gate(EvalScores(1.9, 0.4, 10), current, 0.02)
    assert not worse_em.publish and "exact match regressed" in worse_em.reason
    assert gate(EvalScores(9.0, 0.0, 10), None, 0.0).publish  # nothing in service yet
    assert not gate(EvalScores(float("nan"), 0.0, 0), current, 0.5).publish


def test_with_held_out_commits_a_version_must_complete_their_lines_better() -> None:
    from mochi.trainer.jobs.future_gate import FutureScores
    from mochi.trainer.jobs.gate import FutureComparison

    current = EvalScores(loss=2.0, next_line_em=0.5, count=10)

    def versus(new: float, old: float) -> FutureComparison:
        return FutureComparison(FutureScores(new, 0.1, 40), FutureScores(old, 0.1, 40), "v1")

    better = gate(EvalScores(2.0, 0.5, 10), current, 0.02, future=versus(0.41, 0.40))
    assert better.publish and "beats v1" in better.reason and "0.410 vs 0.400" in better.reason
    level = gate(EvalScores(1.0, 0.9, 10), current, 0.02, future=versus(0.40, 0.40))
    assert not level.publish and "does not beat v1" in level.reason  # held-out loss is not enough
    first = gate(EvalScores(9.0, 0.0, 10), None, 0.0, future=versus(0.3, 0.2))
    assert first.publish  # the first version must still beat the reference (the base)
    assert not gate(EvalScores(9.0, 0.0, 10), None, 0.0, future=versus(0.2, 0.3)).publish
    regressed = gate(EvalScores(2.5, 0.5, 10), current, 0.02, future=versus(0.5, 0.4))
    assert not regressed.publish and "eval loss regressed" in regressed.reason
