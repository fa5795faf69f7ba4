"""scripts/bench_moe.py end to end on a two-language repository and the tiny random
Llama: experts per language, a gate, the four configurations through the served
pipeline per domain, router agreement and routing time in moe.json; a rerun resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder
from script_module import SCRIPTS, load_script

pytestmark = pytest.mark.slow


def python_file(name: str, count: int) -> str:
    return "".join(
        f"def {name}_{i}(values):\n    total = sum(values) + {i}\n    return total * {i + 1}\n\n"
        for i in range(count)
    )


def javascript_file(name: str, count: int) -> str:
    return "".join(
        f"function {name}{i}(items) {{\n  const out = items.map((x) => x * {i});\n"
        f"  return out.length + {i + 1};\n}}\n\n"
        for i in range(count)
    )


def make_repo(root: Path) -> tuple[GitRepo, str]:
    repo = GitRepo.create(root)
    for name in ("stats", "shapes", "words", "dates", "money", "units"):
        repo.write(f"pkg/{name}.py", python_file(name, 12))
        repo.write(f"web/{name}.js", javascript_file(name, 10))
    cut = repo.commit("start")
    repo.write("pkg/stats.py", python_file("stats", 12) + python_file("extra", 3))
    repo.write("web/stats.js", javascript_file("stats", 10) + javascript_file("later", 3))
    repo.commit("more of both")
    return repo, cut


def test_every_domain_gets_four_configurations_and_an_agreement(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(SCRIPTS))  # its helper modules, as when run as a script
    bench = load_script("bench_moe.py")
    repo, cut = make_repo(tmp_path / "repo")
    out = tmp_path / "out"
    argv = [
        *("--repo", str(repo.root), "--since", cut, "--seeds", "0"),
        *("--steps", "4", "--batch-size", "2", "--seq-len", "96", "--min-samples", "1"),
        *("--router-samples", "8", "--max-tasks-per-domain", "3", "--prompt-tokens", "64"),
        *("--max-new-tokens", "4", "--backend", "transformers", "--model", str(tiny_model_dir)),
        *("--workdir", str(tmp_path / "work"), "--out", str(out)),
    ]
    assert bench.main(argv, embedder=HashingEmbedder()) == 0

    report = json.loads((out / "moe.json").read_text())
    assert set(report["domains"]) == {"python", "javascript"}
    assert sum(report["seeds"]["0"]["steps"].values()) == 4  # the single LoRA's budget
    found = report["figures"]["domains"]
    assert set(found) == {"python", "javascript", "pooled"}
    for name, domain in found.items():
        assert domain["n"] > 0, name
        assert set(domain["configs"]) == {"base", "single", "routed", "oracle"}
        assert 0.0 <= domain["configs"]["routed"]["es"]["value"] <= 1.0
        assert 0.0 <= domain["agreement"]["value"] <= 1.0
    assert report["figures"]["route_time"]["p50_ms"] >= 0.0
    assert {g["goal"] for g in report["figures"]["goals"]} >= {
        "routed ≥ single on average (ES, pooled)",
        "routing adds ≤ 5 ms p50",
    }
    assert "| python |" in (out / "moe.md").read_text()
    assert (out / "moe.png").stat().st_size > 0

    # A rerun with the same settings reads the finished seed back instead of training.
    seeds_before = report["seeds"]
    assert bench.main(argv, embedder=HashingEmbedder()) == 0
    assert json.loads((out / "moe.json").read_text())["seeds"] == seeds_before
