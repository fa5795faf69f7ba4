"""One spelling for the workspace across the CLI: PATH where the workspace is the command's
argument, `-w/--workspace` (or the older `--path`) where the argument is something else."""

from __future__ import annotations

from pathlib import Path

import pytest

from mochi.server.cli.main import build_parser

TAKES_AN_OPTION = [
    ["search", "a query"],
    ["hooks", "install"],
    ["hooks", "uninstall"],
    ["trainer", "submit", "finetune"],
]


@pytest.mark.parametrize("command", TAKES_AN_OPTION, ids=" ".join)
@pytest.mark.parametrize("flag", ["-w", "--workspace", "--path"])
def test_every_spelling_names_the_workspace(command: list[str], flag: str) -> None:
    args = build_parser().parse_args([*command, flag, "/some/repo"])
    assert args.workspace == Path("/some/repo")
    assert build_parser().parse_args(command).workspace == Path(".")


@pytest.mark.parametrize("command", ["index", "demo", "doctor"])
def test_commands_about_the_workspace_take_it_as_path(command: str) -> None:
    assert build_parser().parse_args([command, "/some/repo"]).path == Path("/some/repo")
    assert build_parser().parse_args([command]).path == Path(".")
