"""Which experts new commits touch, on a real git repository; and what a continued plan
retrains (only those) and keeps (the others, at their versions)."""

from __future__ import annotations

from git_repo import GitRepo

from mochi.rag.routing.expert_set import ExpertCard, ExpertSet
from mochi.trainer.experts.plan import continued_plan
from mochi.trainer.experts.touched import ExpertAssigner, changed_files, touched_experts
from mochi.trainer.samples import Sample


def card(name: str, languages: tuple[str, ...], paths: tuple[str, ...], samples: int = 10,
         centroid: tuple[float, ...] | None = None) -> ExpertCard:  # fmt: skip
    return ExpertCard(name, f"/reg/{name}/v1", "v1", languages, paths, samples, centroid)


DIRECTORY = ExpertSet(
    "v1",
    "directory",
    "m",
    (card("pkg_a", ("python",), ("pkg_a/*",)), card("web", ("javascript",), ("web/*",), 30)),
)
LANGUAGE = ExpertSet(
    "v1",
    "language",
    "m",
    (card("python", ("python",), ("*.py",)), card("other", ("go", "rust"), ("*.go", "*.rs"))),
)


def test_the_directory_rule_follows_the_cards_globs() -> None:
    assigner = ExpertAssigner(DIRECTORY)
    assert assigner.expert_for("pkg_a/deep/x.py") == "pkg_a"
    assert assigner.expert_for("web/index.js") == "web"
    assert assigner.expert_for("new_folder/x.py") == "web"  # no card covers it: the largest


def test_the_language_rule_follows_the_cards_languages() -> None:
    assigner = ExpertAssigner(LANGUAGE)
    assert assigner.expert_for("anywhere/x.pyi") == "python"  # a language, not a suffix
    assert assigner.expert_for("main.rs") == "other"
    assert assigner.expert_for("app.ts") == "other"  # a new language goes to "other"


def test_the_kmeans_rule_follows_the_nearest_centroid() -> None:
    expert_set = ExpertSet(
        "v1",
        "kmeans",
        "m",
        (
            card("cluster-0", ("python",), ("src/*",), centroid=(1.0, 0.0)),
            card("cluster-1", ("python",), ("src/*",), centroid=(0.0, 1.0)),
        ),
    )
    assigner = ExpertAssigner(expert_set, {"src/a.py": [0.2, 0.9], "src/b.py": [3.0, 0.1]})
    assert assigner.expert_for("src/a.py") == "cluster-1"
    assert assigner.expert_for("src/b.py") == "cluster-0"
    assert assigner.expert_for("src/unknown.py") == "cluster-0"  # by its globs then


def test_changed_files_come_from_git(git_repo: GitRepo) -> None:
    git_repo.write("pkg_a/mod.py", "def f():\n    return 1\n")
    git_repo.write("web/app.js", "function f() { return 1; }\n")
    first = git_repo.commit("start")
    git_repo.write("web/app.js", "function f() { return 2; }\n")
    git_repo.write("web/new.js", "const x = 1;\n")
    second = git_repo.commit("web only")
    changed = changed_files(git_repo.root, first, second)
    assert changed == {"web/app.js", "web/new.js"}
    assert touched_experts(changed, ExpertAssigner(DIRECTORY)) == {
        "web": ["web/app.js", "web/new.js"]
    }
    assert changed_files(git_repo.root, second) == set()  # the working tree is clean


def test_a_continued_plan_retrains_only_the_touched_experts() -> None:
    new = [Sample("p", "c", "file", "web/app.js"), Sample("p", "c", "file", "web/lib/new.ts")]
    held = [Sample("p", "c", "file", "pkg_a/t.py")]
    plans = {p.card.name: p for p in continued_plan(DIRECTORY, ["web/app.js"], new, held, None)}
    assert not plans["pkg_a"].retrain and plans["pkg_a"].card == DIRECTORY.experts[0]
    assert [s.path for s in plans["pkg_a"].eval] == ["pkg_a/t.py"]
    web = plans["web"]
    assert web.retrain and web.previous == DIRECTORY.experts[1]
    assert web.card.samples == 32 and web.card.languages == ("javascript", "typescript")


def test_touched_experts_without_new_samples_are_kept() -> None:
    plans = continued_plan(DIRECTORY, ["web/README.md"], [], [], None)
    assert not any(plan.retrain for plan in plans)
