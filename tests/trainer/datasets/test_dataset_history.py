"""History samples, secrets, the time split, continual (changed_since) builds, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_repo import AKIA_KEY, ENV_KEY, DatasetRepo

from mochi.trainer.datasets import BuiltDataset, DatasetError, DatasetSpec, build_dataset
from mochi.trainer.datasets.commit_samples import commit_prompt, diff_prompt

EOS = "<|endoftext|>"


def words(text: str) -> int:
    return len(text.split())


def build(repo: DatasetRepo, *, commit: str | None = None, changed_since: str | None = None,
          **spec: object) -> BuiltDataset:  # fmt: skip
    return build_dataset(
        repo.root,
        DatasetSpec(**{"eval_fraction": 0.0, **spec}),  # type: ignore[arg-type]
        fim_template="qwen",
        eos=EOS,
        count_tokens=words,
        commit=commit,
        changed_since=changed_since,
    )


def added_lines(repo: DatasetRepo, sha: str, path: str) -> set[str]:
    patch = repo.repo.git("show", "--format=", "-U0", sha, "--", path)
    return {ln[1:].strip() for ln in patch.splitlines() if ln.startswith("+") and ln[1:].strip()}


def test_commit_pairs_in_both_directions_newest_first(dataset_repo: DatasetRepo) -> None:
    built = build(dataset_repo, samples_per_unit=0, docstring_pairs=False)
    c1, _, c3, c4 = dataset_repo.commits
    to_diff = [s for s in built.train if s.kind == "commit-to-diff"]
    to_message = [s for s in built.train if s.kind == "diff-to-commit"]
    assert [s.commit for s in to_diff] == [c4, c3, c1]  # c2 has a secret: dropped whole
    assert [s.commit for s in to_message] == [c4, c3, c1]
    by_commit = {s.commit: s for s in to_diff}
    c4_sample = by_commit[c4]
    assert c4_sample.prompt == commit_prompt("Add subtract to the web app")
    assert "+function subtract(a, b) {" in c4_sample.completion
    assert c4_sample.completion.endswith(EOS) and c4_sample.time == dataset_repo.times[3]
    diff = c4_sample.completion[: -len(EOS)]
    message = next(s for s in to_message if s.commit == c4)
    assert message.prompt == diff_prompt(diff)
    assert message.completion == f"Add subtract to the web app{EOS}"
    assert "diff --git a/.env" not in by_commit[c1].completion  # secret files never shown
    assert built.card.dropped["secret_commits"] == 1
    assert built.card.commit_count == 3
    assert (built.card.first_commit, built.card.last_commit) == (c1, c4)
    limited = build(dataset_repo, samples_per_unit=0, docstring_pairs=False, max_commits=2)
    assert [s.commit for s in limited.train if s.kind == "commit-to-diff"] == [c4, c3]


def test_secrets_never_reach_a_sample(dataset_repo: DatasetRepo) -> None:
    for split in ("random", "time"):
        built = build(
            dataset_repo, split=split, split_commit=dataset_repo.commits[1], eval_fraction=0.3,
            fim_rate=0.5, samples_per_unit=10,
        )  # fmt: skip
        assert built.train
        for sample in built.train + built.eval:
            text = sample.prompt + sample.completion
            assert ENV_KEY not in text and AKIA_KEY not in text and "AKIA" not in text
            assert sample.path not in (".env", "pkg/creds.py")
        assert built.card.dropped.get("secret_units", 0) >= 1


def test_time_split_evaluates_on_lines_of_later_commits(dataset_repo: DatasetRepo) -> None:
    c1, c2, c3, c4 = dataset_repo.commits
    built = build(dataset_repo, split="time", split_commit=c2, fim_rate=1.0, samples_per_unit=5)
    code = [s for s in built.train if s.kind in ("fim", "fim-context", "doc-to-code")]
    assert code and all(s.commit == c2 and s.time == dataset_repo.times[1] for s in code)
    assert not any("def volume" in s.prompt + s.completion for s in built.train)
    pairs = [s for s in built.train if s.kind.startswith(("commit", "diff"))]
    assert {s.commit for s in pairs} == {c1}  # only commits up to split_commit (c2: secret)
    assert built.eval
    assert {s.commit for s in built.eval} == {c3, c4}
    times = dict(zip(dataset_repo.commits, dataset_repo.times, strict=True))
    for sample in built.eval:
        assert sample.kind in ("fim", "fim-context") and sample.time == times[sample.commit]
        assert sample.path == ("pkg/geometry.py" if sample.commit == c3 else "web/app.js")
        middle = sample.completion[: -len(EOS)]
        new = added_lines(dataset_repo, sample.commit, sample.path)
        assert all(ln.strip() in new for ln in middle.splitlines() if ln.strip()), middle
    assert any("scaled = 4.0 * cubed / 3.0" in s.completion for s in built.eval)
    assert any("const difference = a - b;" in s.completion for s in built.eval)
    with pytest.raises(DatasetError, match="not an ancestor"):
        build(dataset_repo, split="time", split_commit=c4, commit=c2)


def test_changed_since_keeps_changed_units_and_the_commits_of_that_range(
    dataset_repo: DatasetRepo,
) -> None:
    _, c2, c3, c4 = dataset_repo.commits
    built = build(dataset_repo, changed_since=c2, samples_per_unit=10, fim_rate=0.0)
    code = [s for s in built.train if s.kind in ("fim", "doc-to-code")]
    assert code
    assert {s.commit for s in built.train if s.kind == "commit-to-diff"} == {c3, c4}
    full = build(dataset_repo, samples_per_unit=10, fim_rate=0.0)
    assert len(code) < len([s for s in full.train if s.kind in ("fim", "doc-to-code")])
    for sample in code:  # only volume, perimeter (c3) and subtract (c4) changed
        assert "def area" not in sample.prompt.splitlines()[-1]
        assert "squared" not in sample.completion and "self." not in sample.completion
        assert "greet" not in sample.prompt.splitlines()[-1]
    assert any("cubed" in s.completion for s in code)
    assert any("diameter" in s.completion for s in code)
    only_js = build(dataset_repo, changed_since=c3, samples_per_unit=10, commit_pairs=False)
    assert {s.path for s in only_js.train} == {"web/app.js"}


def test_building_from_a_commit_reads_git_objects_not_the_working_tree(
    dataset_repo: DatasetRepo,
) -> None:
    (dataset_repo.root / "pkg" / "geometry.py").write_text("def broken(:\n")  # not checked out
    c1 = dataset_repo.commits[0]
    built = build(dataset_repo, commit=c1, samples_per_unit=10)
    assert all(s.commit == c1 for s in built.train)
    assert any("squared = radius * radius" in s.completion for s in built.train)
    assert not any("volume" in s.prompt + s.completion for s in built.train)
    assert built.card.source == c1


def test_clear_errors(tmp_path: Path, dataset_repo: DatasetRepo) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(DatasetError, match="not inside a git repository"):
        build_dataset(plain, DatasetSpec(), fim_template=None, eos="", count_tokens=words)
    with pytest.raises(DatasetError, match="unknown commit 'deadbeef'"):
        build(dataset_repo, commit="deadbeef")
    with pytest.raises(DatasetError, match="unknown commit 'no-such-branch'"):
        build(dataset_repo, changed_since="no-such-branch")
    with pytest.raises(DatasetError, match="unknown FIM template 'llama9'"):
        build_dataset(
            dataset_repo.root, DatasetSpec(), fim_template="llama9", eos="", count_tokens=words
        )
