"""Commit message <-> diff samples from git history; secrets never leave the repo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mochi.rag.secrets import SecretFilter
from mochi.trainer.datasets.repository import CommitInfo, FilePatch, Repository
from mochi.trainer.samples import Sample

TRUNCATED = "[diff truncated]\n"


@dataclass(slots=True)
class CommitSamples:
    samples: list[Sample]
    used: list[CommitInfo]  # commits that gave samples
    secret_commits: int = 0  # dropped: a secret in the message or the diff


def commit_prompt(message: str) -> str:
    return f"Write the diff for this commit.\nCommit message:\n{message}\n\nDiff:\n"


def diff_prompt(diff: str) -> str:
    return f"Write the commit message for this diff.\nDiff:\n{diff}\nCommit message:\n"


def bounded_diff(patches: list[FilePatch], max_chars: int) -> str:
    """The files' diffs in order, cut at a line boundary to `max_chars`."""
    out: list[str] = []
    used = 0
    for patch in patches:
        for line in patch.text.splitlines(keepends=True):
            if used + len(line) > max_chars - len(TRUNCATED):
                return "".join(out) + TRUNCATED
            out.append(line)
            used += len(line)
    return "".join(out)


def commit_samples(
    repo: Repository,
    commits: list[CommitInfo],
    secrets: SecretFilter,
    *,
    eos: str,
    max_diff_chars: int,
    tick: Callable[[int], None] = lambda _done: None,
) -> CommitSamples:
    """Both directions for each commit. Files the secret rules name are left out of the
    diff; a commit whose message or remaining diff holds a secret is dropped whole."""
    result = CommitSamples([], [])
    for done, commit in enumerate(commits, 1):
        tick(done)
        patches = [
            p
            for p in repo.patch(commit)
            if not secrets.is_secret_path(p.path)
            and not (p.old_path and secrets.is_secret_path(p.old_path))
        ]
        if not patches or not commit.message:
            continue
        if secrets.find_secret(commit.message) is not None or any(
            secrets.find_secret(p.text, p.path) is not None for p in patches
        ):
            result.secret_commits += 1
            continue
        diff = bounded_diff(patches, max_diff_chars)
        sha, time = commit.sha, commit.time
        result.samples.append(
            Sample(commit_prompt(commit.message), diff + eos, "commit-to-diff", "", sha, time)
        )
        result.samples.append(
            Sample(diff_prompt(diff), commit.message + eos, "diff-to-commit", "", sha, time)
        )
        result.used.append(commit)
    return result
