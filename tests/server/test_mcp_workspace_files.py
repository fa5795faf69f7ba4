"""What an agent may have mochi read: files inside the workspace, not secrets, not huge."""

from __future__ import annotations

from pathlib import Path

import pytest

from mochi.server.mcp.workspace_files import MAX_FILE_BYTES, ToolInputError, workspace_file


def test_a_workspace_file_is_read_by_its_relative_path(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    assert workspace_file(tmp_path, "pkg/../pkg/a.py") == ("pkg/a.py", "x = 1\n")


@pytest.mark.parametrize("name", [".env", "config/.env.local", "deploy/id_rsa", "certs/server.pem"])
def test_secret_files_are_refused(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("API_KEY=abc\n")
    with pytest.raises(ToolInputError, match="is a secret file"):
        workspace_file(tmp_path, name)


def test_outside_missing_and_huge_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_bytes(b"a" * (MAX_FILE_BYTES + 1))
    with pytest.raises(ToolInputError, match="larger than"):
        workspace_file(tmp_path, "big.txt")
    with pytest.raises(ToolInputError, match="outside the workspace"):
        workspace_file(tmp_path, "../elsewhere.py")
    with pytest.raises(ToolInputError, match="is not a file"):
        workspace_file(tmp_path, "nope.py")
