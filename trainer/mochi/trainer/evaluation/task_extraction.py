"""Tasks from the commits after the cut: every worthwhile line a commit adds or modifies,
sampled with a seed under the caps of `TaskOptions`."""

from __future__ import annotations

import random
from pathlib import Path

from mochi.rag.languages import classify
from mochi.trainer.evaluation.definitions import api_calls, definition_index
from mochi.trainer.evaluation.git_history import (
    Commit,
    added_lines,
    commits_between,
    decode_text,
    list_files,
    read_blobs,
)
from mochi.trainer.evaluation.line_filter import LineFilter
from mochi.trainer.evaluation.task_options import TaskOptions
from mochi.trainer.evaluation.tasks import Task, task_id


def split_at_line(text: str, index: int) -> tuple[str, str, str]:
    """(prefix, line, suffix) around the 0-based line `index`; the three join to `text`."""
    lines = text.split("\n")
    prefix = "".join(line + "\n" for line in lines[:index])
    suffix = "".join("\n" + line for line in lines[index + 1 :])
    return prefix, lines[index], suffix


def _language(path: str, options: TaskOptions) -> str | None:
    language, _ = classify(path)
    return language if language in options.languages else None


def _texts_at(repo: Path, commit: str, paths: list[str], max_bytes: int) -> dict[str, str]:
    texts = {}
    for path, data in read_blobs(repo, commit, paths).items():
        text = decode_text(data) if len(data) <= max_bytes else None
        if text is not None:
            texts[path] = text
    return texts


def repository_definitions(repo: Path, cut: str, options: TaskOptions) -> dict[str, frozenset[str]]:
    """name -> files defining it, over the repository's source files at the cut."""
    paths = [p for p in list_files(repo, cut) if _language(p, options)]
    return definition_index(_texts_at(repo, cut, paths, options.max_file_bytes))


def commit_tasks(
    repo: Path,
    commit: Commit,
    options: TaskOptions,
    definitions: dict[str, frozenset[str]],
    rng: random.Random,
) -> list[Task]:
    """The commit's worthwhile lines, at most `max_per_file` from a file (seeded choice)."""
    changed = added_lines(repo, commit.sha)
    paths = sorted(p for p in changed if _language(p, options))
    texts = _texts_at(repo, commit.sha, paths, options.max_file_bytes)
    tasks = []
    for path in paths:
        if path not in texts:
            continue
        language = _language(path, options) or ""
        lines = texts[path].split("\n")
        keep = LineFilter(lines, language, options.max_line_chars)
        worth = [n for n in changed[path] if n <= len(lines) and keep.worth_completing(n - 1)]
        for number in sorted(rng.sample(worth, min(len(worth), options.max_per_file))):
            prefix, truth, suffix = split_at_line(texts[path], number - 1)
            tasks.append(
                Task(
                    id=task_id(commit.sha, path, number),
                    commit=commit.sha,
                    time=commit.time,
                    path=path,
                    line=number,
                    language=language,
                    prefix=prefix,
                    suffix=suffix,
                    truth=truth,
                    api_names=api_calls(truth, path, definitions),
                )
            )
    return tasks


def extract_tasks(repo: Path, cut: str, until: str, options: TaskOptions) -> list[Task]:
    """Tasks from the commits in `cut..until`, oldest commit first.

    Commits are visited in a seeded random order until `max_tasks` are found, so a long
    history costs only the commits needed; each gives at most `max_per_commit` tasks.
    """
    commits = commits_between(repo, cut, until)
    rank = {c.sha: i for i, c in enumerate(commits)}
    definitions = repository_definitions(repo, cut, options)
    rng = random.Random(options.seed)
    order = list(commits)
    rng.shuffle(order)
    tasks: list[Task] = []
    for commit in order:
        room = options.max_tasks - len(tasks)
        if room <= 0:
            break
        found = commit_tasks(repo, commit, options, definitions, rng)
        tasks.extend(rng.sample(found, min(len(found), options.max_per_commit, room)))
    return sorted(tasks, key=lambda t: (rank[t.commit], t.path, t.line))
