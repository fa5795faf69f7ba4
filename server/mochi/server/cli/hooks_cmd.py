"""`mochi hooks install|uninstall [--path .]`: a git post-commit hook that queues a
`continual` training job after each commit.

The hook starts `mochi trainer submit continual` in the background, detached from the
commit's terminal, so the commit never waits for it and never fails because of it (the
daemon may be down). An existing post-commit hook is kept: it is renamed
`post-commit.pre-mochi` and run first by mochi's hook; `uninstall` puts it back.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from mochi.server.cli.errors import CliError
from mochi.server.cli.workspace_option import add_workspace_option

MARKER = "# mochi post-commit hook (mochi hooks install)"
CHAINED = "post-commit.pre-mochi"


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "hooks", help="git hooks that keep the adapter trained on new commits"
    )
    sub = p.add_subparsers(dest="hooks_command", metavar="ACTION", required=True)
    for name, help_text, run_fn in (
        ("install", "install the post-commit hook (idempotent)", run_install),
        ("uninstall", "remove it (restoring a hook it replaced)", run_uninstall),
    ):
        action = sub.add_parser(name, help=help_text)
        add_workspace_option(action, "the repository")
        action.set_defaults(run=run_fn)
    sub.choices["install"].add_argument(
        "--adapter", default="default", help="adapter the jobs continue (default: default)"
    )


def hooks_dir(repo: Path) -> Path:
    """The repository's hooks folder (honours core.hooksPath and worktrees)."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--git-path", "hooks"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        raise CliError(f"{repo} is not a git repository ({exc})") from None
    path = Path(done.stdout.strip())
    return path if path.is_absolute() else (repo / path).resolve()


def mochi_command() -> str:
    """The `mochi` executable of this installation (absolute, so the hook works from any
    shell, venv activated or not)."""
    beside = Path(sys.executable).parent / "mochi"
    if beside.is_file():
        return str(beside)
    return shutil.which("mochi") or "mochi"


def hook_script(mochi: str, adapter: str) -> str:
    cmd = shlex.quote(mochi)
    return f"""#!/bin/sh
{MARKER}
# Queues a `continual` training job in the background; never delays or fails the commit.
hook_dir=$(dirname "$0")
status=0
if [ -x "$hook_dir/{CHAINED}" ]; then
    "$hook_dir/{CHAINED}" "$@" || status=$?
fi
top=$(git rev-parse --show-toplevel 2>/dev/null) || exit $status
( {cmd} trainer submit continual --workspace "$top" --adapter {shlex.quote(adapter)} \\
    </dev/null >/dev/null 2>&1 & ) >/dev/null 2>&1 || true
exit $status
"""


def is_ours(hook: Path) -> bool:
    try:
        return MARKER in hook.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def install(repo: Path, adapter: str = "default", mochi: str | None = None) -> Path:
    folder = hooks_dir(repo)
    folder.mkdir(parents=True, exist_ok=True)
    hook = folder / "post-commit"
    if (hook.exists() or hook.is_symlink()) and not is_ours(hook):
        chained = folder / CHAINED
        if chained.exists():
            raise CliError(
                f"{hook} is not mochi's and {chained} exists already: merge them by hand"
            )
        hook.rename(chained)
    tmp = folder / ".post-commit.mochi-tmp"
    tmp.write_text(hook_script(mochi or mochi_command(), adapter), encoding="utf-8")
    tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH | stat.S_IRUSR)
    os.replace(tmp, hook)
    return hook


def uninstall(repo: Path) -> bool:
    folder = hooks_dir(repo)
    hook = folder / "post-commit"
    if not is_ours(hook):
        return False
    hook.unlink()
    chained = folder / CHAINED
    if chained.exists():
        chained.rename(hook)
    return True


def run_install(args: argparse.Namespace) -> int:
    hook = install(args.workspace.resolve(), args.adapter)
    print(f"installed {hook}: each commit queues a continual job for adapter {args.adapter!r}")
    return 0


def run_uninstall(args: argparse.Namespace) -> int:
    if uninstall(args.workspace.resolve()):
        print("removed mochi's post-commit hook")
    else:
        print("no mochi post-commit hook installed")
    return 0
