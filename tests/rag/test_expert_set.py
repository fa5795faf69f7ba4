"""expert_set.json: what the trainer writes, the server reads back exactly; bad files
fail with a message that names the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mochi.rag.routing.expert_set import (
    EXPERT_SET_FILE,
    ExpertCard,
    ExpertSet,
    ExpertSetError,
    current_set_folder,
    read_expert_set,
    write_expert_set,
)


def _set(adapter: str = "../adapters/default.python/v2") -> ExpertSet:
    return ExpertSet(
        version="v3",
        rule="language",
        base_model="tiny-llama",
        experts=(
            ExpertCard(
                name="python",
                adapter=adapter,
                version="v2",
                languages=("python",),
                paths=("*.py", "*.pyi"),
                samples=120,
                centroid=(0.6, 0.8),
            ),
            ExpertCard(
                name="other",
                adapter="experts/other",
                version="v1",
                languages=("javascript", "go"),
                paths=("web/*",),
                samples=30,
                centroid=None,
            ),
        ),
        router="router.json",
        feature_version=1,
        scores={"loss": 1.25, "next_line_em": 0.5},
    )


def test_a_written_set_reads_back_equal(tmp_path: Path) -> None:
    written = _set()
    write_expert_set(tmp_path, written)
    assert read_expert_set(tmp_path) == written
    data = json.loads((tmp_path / EXPERT_SET_FILE).read_text())
    assert data["format"] == 1
    assert not list(tmp_path.glob(".tmp-*"))  # the temporary file was renamed over


def test_rewriting_replaces_the_whole_file(tmp_path: Path) -> None:
    write_expert_set(tmp_path, _set())
    smaller = ExpertSet("v4", "directory", "tiny-llama", (), None, 0, {})
    write_expert_set(tmp_path, smaller)
    assert read_expert_set(tmp_path) == smaller


def test_relative_adapters_resolve_against_the_set_folder(tmp_path: Path) -> None:
    expert_set = _set()
    folder = tmp_path / "sets" / "default" / "v3"
    python, other = expert_set.experts
    assert expert_set.adapter_path(folder, python) == folder / "../adapters/default.python/v2"
    assert expert_set.adapter_path(folder, other) == folder / "experts" / "other"
    assert expert_set.router_path(folder) == folder / "router.json"


def test_absolute_adapters_stay_where_they_are(tmp_path: Path) -> None:
    elsewhere = tmp_path / "registry" / "python" / "v2"
    expert_set = _set(adapter=str(elsewhere))
    write_expert_set(tmp_path / "set", expert_set)
    read = read_expert_set(tmp_path / "set")
    assert read.adapter_path(tmp_path / "set", read.experts[0]) == elsewhere


def test_a_set_without_a_router_has_no_router_path(tmp_path: Path) -> None:
    expert_set = ExpertSet("v1", "kmeans", "m", (), None, 0, {})
    assert expert_set.router_path(tmp_path) is None


def test_unknown_fields_are_ignored(tmp_path: Path) -> None:
    write_expert_set(tmp_path, _set())
    path = tmp_path / EXPERT_SET_FILE
    data = json.loads(path.read_text())
    data["written_by"] = "a newer trainer"
    data["experts"][0]["license"] = "MIT"
    path.write_text(json.dumps(data))
    assert read_expert_set(tmp_path) == _set()


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ExpertSetError, match="holds no expert set"):
        read_expert_set(tmp_path)


def test_the_error_is_a_value_error(tmp_path: Path) -> None:
    (tmp_path / EXPERT_SET_FILE).write_text("{not json")
    with pytest.raises(ValueError, match="not readable JSON"):
        read_expert_set(tmp_path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("format"), "no 'format' number"),
        (lambda d: d.update(format=99), "format 99 is newer"),
        (lambda d: d.update(rule="random"), "rule must be one of"),
        (lambda d: d.update(experts={}), "'experts' must be a list"),
        (lambda d: d["experts"][0].pop("adapter"), "'adapter' must be a string"),
        (lambda d: d["experts"][0].update(samples="many"), "'samples' must be an integer"),
        (lambda d: d["experts"][0].update(centroid="x"), r"experts\[0\].centroid"),
        (lambda d: d["experts"][0].update(paths="pkg/*"), "'paths' must be a list of strings"),
        (lambda d: d["experts"][1].update(name="python"), "expert names repeat"),
        (lambda d: d.update(scores={"loss": "low"}), "scores.loss must be a number"),
        (lambda d: d.update(router="/etc/router.json"), "router must be a file relative"),
    ],
)
def test_malformed_files_name_the_problem(tmp_path: Path, change: object, message: str) -> None:
    write_expert_set(tmp_path, _set())
    path = tmp_path / EXPERT_SET_FILE
    data = json.loads(path.read_text())
    change(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))
    with pytest.raises(ExpertSetError, match=message) as raised:
        read_expert_set(tmp_path)
    assert str(path) in str(raised.value)


def test_a_json_list_is_not_a_set(tmp_path: Path) -> None:
    (tmp_path / EXPERT_SET_FILE).write_text("[]")
    with pytest.raises(ExpertSetError, match="must be a JSON object"):
        read_expert_set(tmp_path)


def test_scores_without_samples_are_left_out(tmp_path: Path) -> None:
    write_expert_set(
        tmp_path, ExpertSet("v1", "language", "m", (), None, 0, {"loss": float("nan")})
    )
    assert read_expert_set(tmp_path).scores == {}


def test_a_folder_of_versions_resolves_to_the_one_in_service(tmp_path: Path) -> None:
    for version in ("v1", "v2"):
        write_expert_set(tmp_path / "default" / version, _set())
    (tmp_path / "default" / "current").write_text("v2\n")
    assert current_set_folder(tmp_path / "default") == tmp_path / "default" / "v2"
    assert current_set_folder(tmp_path / "default" / "v1") == tmp_path / "default" / "v1"
    (tmp_path / "default" / "current").write_text("../../etc\n")
    with pytest.raises(ExpertSetError, match="names no version"):
        current_set_folder(tmp_path / "default")
    with pytest.raises(ExpertSetError, match="no current pointer"):
        current_set_folder(tmp_path / "nothing")
