"""`check_conventions` as the MCP tools run it: a file or the lines a diff adds, checked
against the repository's norms, with 1-based positions; without a model that can score,
naming is still checked and the answer says why surprise was not."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mochi.server.config import MochiConfig
from mochi.server.generation.scoring import Scorer
from mochi.server.mcp.backend import ToolUnavailable
from mochi.server.mcp.conventions import ConventionReport, check_conventions, format_report
from mochi.server.mcp.workspace_files import ToolInputError

T = TypeVar("T")
SHAPES = "".join(f"def make_shape_{i}(size):\n    return size * {i}\n\n\n" for i in range(6))
ODD = "def buildCircleShape(radius):\n    return radius\n"
DIFF = """diff --git a/app/odd.py b/app/odd.py
new file mode 100644
--- /dev/null
+++ b/app/odd.py
@@ -0,0 +1,2 @@
+def buildCircleShape(radius):
+    return radius
--- a/../elsewhere.py
+++ b/../elsewhere.py
@@ -1 +1,2 @@
 x = 1
+y = 2
"""


class NoScorer:
    """A ModelSource whose back end cannot score (as vLLM's)."""

    def __init__(self) -> None:
        self.runs = 0

    def run(self, work: Callable[[], T]) -> T:
        self.runs += 1
        return work()

    def scorer(self) -> Scorer:
        raise ToolUnavailable("the vllm back end cannot score text")

    def adapter_for(self, path: str, language: str) -> str | None:
        raise AssertionError("no adapter is chosen without a scorer")

    def model_id(self) -> str:
        raise AssertionError("no norms are keyed by a model without a scorer")

    def describe(self) -> dict[str, Any]:
        return {}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    (ws / "pkg").mkdir(parents=True)
    (ws / "app").mkdir()
    (ws / "pkg" / "shapes.py").write_text(SHAPES)
    (ws / "app" / "odd.py").write_text(ODD)
    return ws


def config(tmp_path: Path) -> MochiConfig:
    return MochiConfig(data_dir=str(tmp_path / "data"))


def test_a_file_is_checked_against_the_repositorys_naming(root: Path, tmp_path: Path) -> None:
    models = NoScorer()
    report = check_conventions(root, config(tmp_path), models, path="app/odd.py")
    assert models.runs == 1  # the work ran where model work runs
    assert report.checked == ("app/odd.py",) and report.adapters == {"app/odd.py": None}
    assert "cannot score" in report.surprise
    (finding,) = report.findings
    assert (finding.path, finding.line, finding.column, finding.kind) == (
        "app/odd.py",
        1,
        5,
        "naming",
    )
    assert finding.end_column == 5 + len("buildCircleShape")
    assert finding.suggestion == "build_circle_shape"
    text = format_report(report)
    assert text.startswith("1 finding(s) in app/odd.py")
    assert "(naming only; no surprise check: the vllm back end cannot score text)" in text
    assert "app/odd.py:1:5 [naming] `buildCircleShape`" in text
    assert ConventionReport.from_dict(report.as_dict()) == report  # across the share


def test_a_diff_is_checked_on_the_lines_it_adds(root: Path, tmp_path: Path) -> None:
    report = check_conventions(root, config(tmp_path), NoScorer(), diff=DIFF)
    assert report.checked == ("app/odd.py",)
    assert report.skipped == ("../elsewhere.py",)
    assert [f.suggestion for f in report.findings] == ["build_circle_shape"]
    clean = DIFF.replace("buildCircleShape", "build_circle_shape")
    (root / "app" / "odd.py").write_text(ODD.replace("buildCircleShape", "build_circle_shape"))
    assert check_conventions(root, config(tmp_path), NoScorer(), diff=clean).findings == ()


def test_bad_arguments_are_named(root: Path, tmp_path: Path) -> None:
    for path, diff, message in (
        ("", "", "either path"),
        ("app/odd.py", DIFF, "either path"),
        ("", "not a diff", "adds no lines"),
        ("../x.py", "", "outside the workspace"),
        ("", DIFF.split("--- a/../", 1)[0].replace("app/odd.py", "gone.py"), "no file the diff"),
    ):
        with pytest.raises(ToolInputError, match=message):
            check_conventions(root, config(tmp_path), NoScorer(), path=path, diff=diff)
