"""Task extraction from a known history: which lines, with which prefix and suffix."""

from __future__ import annotations

import pytest
from eval_history import APP, GEOMETRY_AFTER, History

from mochi.trainer.evaluation.definitions import api_calls, called_names, definition_index
from mochi.trainer.evaluation.errors import EvalError
from mochi.trainer.evaluation.git_history import (
    added_lines,
    commits_between,
    parse_added_lines,
    require_repository,
    resolve_commit,
)
from mochi.trainer.evaluation.line_filter import LineFilter
from mochi.trainer.evaluation.task_extraction import extract_tasks, split_at_line
from mochi.trainer.evaluation.task_options import TaskOptions

ALL = TaskOptions(max_tasks=100, max_per_commit=100, max_per_file=100)


def test_parse_added_lines_uses_new_side_numbers() -> None:
    diff = (
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n"
        "@@ -2,0 +3,2 @@ def f():\n+    x = 1\n+    y = 2\n"
        "@@ -9 +11 @@\n-old\n+new\n"
        "diff --git a/gone.py b/gone.py\n--- a/gone.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n"
    )
    assert parse_added_lines(diff) == {"m.py": [3, 4, 11]}


def test_added_lines_of_the_history(history: History) -> None:
    assert added_lines(history.root, history.app) == {
        "pkg/app.py": list(range(1, 14)),
        "README.md": [2, 3],
    }
    # `return 0` was modified into line 7; 8-10 are new.
    assert added_lines(history.root, history.geometry) == {"pkg/geometry.py": [7, 8, 9, 10]}
    assert [c.sha for c in commits_between(history.root, history.cut, "HEAD")] == [
        history.app,
        history.geometry,
    ]


def test_line_filter_drops_blank_comment_punctuation_and_copies() -> None:
    lines = APP.split("\n")
    keep = LineFilter(lines, "python")
    kept = [n for n in range(1, len(lines) + 1) if keep.worth_completing(n - 1)]
    # 3, 4 blank; 6 comment; 9, 10 the same line twice; 13 `)` only; 14 the empty last line
    assert kept == [1, 2, 5, 7, 8, 11, 12]
    assert not LineFilter(['"""'], "python").worth_completing(0)
    assert not LineFilter(["x = 1  " + "y" * 300], "python").worth_completing(0)
    assert LineFilter(["# not a comment in C"], "c").worth_completing(0)
    assert not LineFilter(["// a comment"], "c").worth_completing(0)


def test_split_at_line_rebuilds_the_file() -> None:
    text = "a\nb\nc\n"
    assert split_at_line(text, 0) == ("", "a", "\nb\nc\n")
    assert split_at_line(text, 1) == ("a\n", "b", "\nc\n")
    assert split_at_line("a\nb", 1) == ("a\n", "b", "")


def test_definitions_and_api_calls() -> None:
    index = definition_index(
        {"g.py": "def area(w, h):\n    pass\nclass Box:\n    def __init__(self): ...\n"}
    )
    assert index == {"area": frozenset({"g.py"}), "Box": frozenset({"g.py"})}
    assert called_names("    def area(self, x): return max(x)") == ["max"]
    assert called_names("b = Box().area (1)") == ["Box", "area"]
    assert api_calls("b = Box().area(1)", "app.py", index) == ("Box", "area")
    assert api_calls("b = Box().area(1)", "g.py", index) == ()  # defined in this file only


def test_extract_all_tasks_exactly(history: History) -> None:
    tasks = extract_tasks(history.root, history.cut, "HEAD", ALL)
    assert [(t.commit, t.path, t.line) for t in tasks] == [
        *[(history.app, "pkg/app.py", n) for n in (1, 2, 5, 7, 8, 11, 12)],
        *[(history.geometry, "pkg/geometry.py", n) for n in (7, 9, 10)],
    ]
    by_line = {(t.path, t.line): t for t in tasks}
    size = by_line[("pkg/app.py", 7)]
    assert size.truth == "    size = area(w, h)"
    assert size.prefix == (
        "from pkg.geometry import area\nfrom pkg.strings import shout\n\n\n"
        "def report(w, h):\n    # compute the area\n"
    )
    assert size.suffix == (
        '\n    label = shout("size")\n    print(label)\n    print(label)\n'
        "    return (\n        label,\n    )\n"
    )
    assert size.id == f"{history.app[:12]}:pkg/app.py:7"
    assert size.language == "python"
    for task in tasks:
        text = APP if task.path == "pkg/app.py" else GEOMETRY_AFTER
        assert task.prefix + task.truth + task.suffix == text
    volume = by_line[("pkg/geometry.py", 7)]
    assert volume.truth == "        return self.w * self.h * self.d"
    assert volume.prefix.endswith("    def volume(self):\n")
    # The API subset: calls of names another file defined at the cut.
    assert {(t.path, t.line): t.api_names for t in tasks if t.api} == {
        ("pkg/app.py", 7): ("area",),
        ("pkg/app.py", 8): ("shout",),
    }


def test_sampling_caps_are_seeded(history: History) -> None:
    capped = TaskOptions(max_tasks=100, max_per_commit=3, max_per_file=2, seed=1)
    first = extract_tasks(history.root, history.cut, "HEAD", capped)
    again = extract_tasks(history.root, history.cut, "HEAD", capped)
    assert first == again
    per_file: dict[tuple[str, str], int] = {}
    for task in first:
        per_file[(task.commit, task.path)] = per_file.get((task.commit, task.path), 0) + 1
    assert sorted(per_file.values()) == [2, 2]
    total = extract_tasks(history.root, history.cut, "HEAD", TaskOptions(max_tasks=3, seed=1))
    assert len(total) == 3
    seeds = {
        tuple(t.id for t in extract_tasks(history.root, history.cut, "HEAD", TaskOptions(seed=s)))
        for s in range(6)
    }
    assert len(seeds) > 1  # the seed decides which lines are taken


def test_languages_option_selects_files(history: History) -> None:
    markdown = TaskOptions(languages=("markdown",), max_per_file=100)
    tasks = extract_tasks(history.root, history.cut, "HEAD", markdown)
    assert [(t.path, t.truth) for t in tasks] == [("README.md", "Now with a report.")]


def test_errors_name_the_problem(history: History, tmp_path: object) -> None:
    with pytest.raises(EvalError, match="not a git repository"):
        require_repository(history.root.parent)
    with pytest.raises(EvalError, match="unknown commit 'nope'"):
        resolve_commit(history.root, "nope")
    assert resolve_commit(history.root, "HEAD~2") == history.cut


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="max_per_file"):
        TaskOptions(max_per_file=0)
    with pytest.raises(ValueError, match="languages"):
        TaskOptions(languages=())
