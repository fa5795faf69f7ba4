"""The `train-experts` job on the tiny random Llama, through the real daemon (SQLite job
queue, runner, registry): a repository with a Python package and a JavaScript folder
gets two experts and a published set; a commit touching one folder retrains only that
expert, continuing its own version with EWC; no new commit publishes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_helpers import wait_for
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder

from mochi.rag.routing.expert_set import read_expert_set
from mochi.rag.routing.features import FEATURE_VERSION
from mochi.rag.routing.gate import LinearGate
from mochi.trainer.daemon import DaemonConfig, DaemonParts, build_daemon
from mochi.trainer.experts.publish import ExpertSetRegistry, expert_sets_root
from mochi.trainer.jobs.handlers import HandlerEnv, default_handlers
from mochi.trainer.jobs.handlers.train_experts import TrainExpertsHandler
from mochi.trainer.protocol import JobKind, JobRequest, JobState, JobView
from mochi.trainer.registry import AdapterRegistry, Manifest

pytestmark = pytest.mark.slow

TRAIN = {
    "max_steps": 3,
    "learning_rate": 0.02,
    "batch_size": 2,
    "rank": 4,
    "alpha": 8,
    "max_seq_len": 96,
    "warmup_steps": 0,
    "fisher_samples": 2,
    "replay_size": 4,
}
DATASET = {"eval_fraction": 0.34, "file_window_lines": 6, "context_rate": 0.0}
PARAMS = {"rule": "directory", "min_samples": 1, "train": TRAIN, "dataset": DATASET}

PYTHON = {
    f"pkg_a/{name}.py": "".join(
        f"def {name}_{i}(values):\n    total = sum(values) + {i}\n    return total\n\n"
        for i in range(3)
    )
    for name in ("stats", "shapes", "words")
}
JAVASCRIPT = {
    f"web/{name}.js": "".join(
        f"function {name}{i}(items) {{\n  return items.map((x) => x * {i});\n}}\n\n"
        for i in range(3)
    )
    for name in ("render", "fetch", "state")
}


@pytest.fixture
def daemon(tmp_path: Path, tiny_model_dir: Path) -> Iterator[DaemonParts]:
    config = DaemonConfig(
        data_dir=tmp_path / "data", base_model=tiny_model_dir, devices=("cpu",), poll_seconds=0.05
    )
    env = HandlerEnv(AdapterRegistry(config.adapters_dir), tiny_model_dir)
    handlers = {
        **default_handlers(env),
        JobKind.TRAIN_EXPERTS: TrainExpertsHandler(env, embedder=HashingEmbedder),
    }
    parts = build_daemon(config, handlers=handlers)
    parts.start()
    yield parts
    parts.stop()


def run(parts: DaemonParts, workspace: Path, **params: Any) -> JobView:
    view, _ = parts.store.submit(
        JobRequest(JobKind.TRAIN_EXPERTS, str(workspace), "default", params)
    )
    parts.runner.wake()
    wait_for(lambda: parts.store.get(view.id).state.finished, timeout=300, what="train-experts")
    return parts.store.get(view.id)


def make_repo(root: Path) -> GitRepo:
    repo = GitRepo.create(root)
    for path, text in {**PYTHON, **JAVASCRIPT}.items():
        repo.write(path, text)
    repo.write("docs/guide.md", "# Guide\n\nNo code here.\n")
    repo.commit("start")
    return repo


def test_two_domains_two_experts_and_only_the_touched_one_retrained(
    daemon: DaemonParts, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo")
    first = run(daemon, repo.root, **PARAMS)
    assert first.state == JobState.SUCCEEDED, first.error
    result = first.result
    assert result["published"] is True and result["version"] == "v1"
    assert result["experts"] == {"pkg_a": "v1", "web": "v1"}
    assert sorted(result["retrained"]) == ["pkg_a", "web"]

    folder = Path(result["path"])
    assert folder == expert_sets_root(daemon.registry.root) / "default" / "v1"
    expert_set = read_expert_set(folder)
    assert expert_set.rule == "directory" and expert_set.base_model
    cards = {card.name: card for card in expert_set.experts}
    assert cards["pkg_a"].paths == ("pkg_a/*",) and cards["pkg_a"].languages == ("python",)
    assert cards["web"].paths == ("web/*",) and cards["web"].languages == ("javascript",)
    for card in cards.values():
        assert card.samples > 0 and card.centroid is not None and len(card.centroid) == 64
        adapter = expert_set.adapter_path(folder, card)
        assert (adapter / "adapter_config.json").is_file()
        manifest = Manifest.read(adapter)
        assert manifest.name == f"default.{card.name}" and manifest.job_id == first.id
        assert manifest.fisher and (adapter / manifest.fisher).is_file()  # its own EWC state
    assert expert_set.scores["count"] > 0 and "loss" in expert_set.scores
    router = expert_set.router_path(folder)
    # the gate: trained on held-out samples of both domains, each labelled with its best expert
    assert result["router"] is True, result["router_reason"]
    assert sum(result["router_labels"].values()) == expert_set.scores["count"]
    assert router is not None and LinearGate.load(router).experts == ("pkg_a", "web")
    assert expert_set.feature_version == FEATURE_VERSION
    assert daemon.registry.current_version("default.web") == "v1"

    idle = run(daemon, repo.root, **PARAMS)
    assert idle.state == JobState.SUCCEEDED and idle.result["published"] is False
    assert "no new commits" in idle.result["reason"]

    repo.write("web/render.js", JAVASCRIPT["web/render.js"] + "function more() {\n  return 2;\n}\n")
    repo.write("web/extra.js", "function extra(a) {\n  return a + 1;\n}\n")
    head = repo.commit("web only")
    second = run(daemon, repo.root, **PARAMS)
    assert second.state == JobState.SUCCEEDED, second.error
    assert second.result["published"] is True and second.result["version"] == "v2"
    assert second.result["retrained"] == ["web"]
    assert second.result["experts"] == {"pkg_a": "v1", "web": "v2"}
    sets = ExpertSetRegistry(expert_sets_root(daemon.registry.root))
    current = sets.current("default")
    assert current is not None and current.record.commit == head
    new_cards = {card.name: card for card in current.expert_set.experts}
    assert new_cards["pkg_a"] == cards["pkg_a"]  # kept as it was
    assert current.expert_set.router is not None  # a gate between the same experts is kept
    assert new_cards["web"].samples > cards["web"].samples
    web = Manifest.read(current.expert_set.adapter_path(current.folder, new_cards["web"]))
    assert web.previous_version == "v1" and web.commit == head
    assert [m.version for m in daemon.registry.versions("default.pkg_a")] == ["v1"]
    assert read_expert_set(folder).version == "v1"  # the old version is untouched


def test_bad_params_are_refused_at_submit() -> None:
    from mochi.trainer.jobs.errors import ParamsError
    from mochi.trainer.jobs.params import validate_params

    with pytest.raises(ParamsError, match=r"params\.rule"):
        validate_params(JobKind.TRAIN_EXPERTS, {"rule": "random"})
    with pytest.raises(ParamsError, match=r"params\.min_samples"):
        validate_params(JobKind.TRAIN_EXPERTS, {"min_samples": 0})


def test_the_kmeans_rule_clusters_the_files_embeddings(daemon: DaemonParts, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    job = run(daemon, repo.root, **{**PARAMS, "rule": "kmeans", "clusters": 2})
    assert job.state == JobState.SUCCEEDED, job.error
    expert_set = read_expert_set(Path(job.result["path"]))
    assert expert_set.rule == "kmeans"
    assert {card.name for card in expert_set.experts} == {"cluster-0", "cluster-1"}
    assert all(card.samples > 0 for card in expert_set.experts)
    for card in expert_set.experts:
        assert card.centroid is not None and abs(sum(x * x for x in card.centroid) - 1) < 1e-6
