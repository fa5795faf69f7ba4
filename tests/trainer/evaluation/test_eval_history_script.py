"""scripts/eval_history_from_pypi.py: sdists -> one commit per release (offline part)."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from script_module import load_script


def sdist(folder: Path, version: str, files: dict[str, str]) -> Path:
    archive = folder / f"demo-{version}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for rel, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"demo-{version}/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return archive


def test_build_history_commits_each_release_in_order(tmp_path: Path) -> None:
    script = load_script("eval_history_from_pypi.py")
    first = sdist(
        tmp_path,
        "1.0",
        {
            "demo/__init__.py": "def f():\n    return 1\n",
            "demo/tests/test_f.py": "def test(): ...\n",
            "tests/test_top.py": "x = 1\n",
            "setup.py": "setup()\n",
            "docs/conf.py": "project = 'demo'\n",
            "README.md": "# demo\n",
        },
    )
    second = sdist(
        tmp_path,
        "1.1",
        {  # moved to a src/ layout: the paths must not change
            "src/demo/__init__.py": "def f():\n    return 2\n",
            "src/demo/extra.py": "def g():\n    return f()\n",
        },
    )
    repo = script.build_history([("1.0", first), ("1.1", second)], tmp_path / "repo")

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=repo, capture_output=True, text=True, check=True
        ).stdout

    assert git("log", "--format=%s|%at|%an").splitlines() == [
        "release v1.1|1600086400|Release History",
        "release v1.0|1600000000|Release History",
    ]
    assert git("ls-tree", "-r", "--name-only", "v1.0").split() == ["demo/__init__.py"]
    assert git("ls-tree", "-r", "--name-only", "v1.1").split() == [
        "demo/__init__.py",
        "demo/extra.py",
    ]
    assert git("diff", "--numstat", "v1.0", "v1.1").split() == [
        "1", "1", "demo/__init__.py", "2", "0", "demo/extra.py",
    ]  # fmt: skip
