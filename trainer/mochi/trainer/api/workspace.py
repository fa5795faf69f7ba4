"""What a job's `workspace` may be: a git repository or a project folder on the daemon's
machine, given as an absolute path and stored resolved (no `..`, no symlinks), never `/`."""

from __future__ import annotations

from pathlib import Path

# A folder holding one of these is a project (`.git` is a folder, or a file in worktrees).
PROJECT_MARKERS = (
    ".git",
    ".mochi.toml",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "package.json",
    "Cargo.toml",
    "go.mod",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "CMakeLists.txt",
    "meson.build",
    "Makefile",
    "Gemfile",
    "composer.json",
    "mix.exs",
    "Package.swift",
    "deno.json",
)


def resolve_workspace(value: str) -> str:
    """The resolved folder, or ValueError saying why `value` is not a workspace."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    path = Path(value)
    if not path.is_absolute():
        raise ValueError("must be an absolute path")
    try:
        resolved = path.resolve()
        exists, is_dir = resolved.exists(), resolved.is_dir()
        project = is_dir and any((resolved / name).exists() for name in PROJECT_MARKERS)
    except (OSError, RuntimeError) as exc:  # too long, unreadable, a symlink loop
        raise ValueError(
            f"workspace {value} cannot be read on the daemon's machine: {exc}"
        ) from None
    shown = value if str(resolved) == value else f"{value} (= {resolved})"
    if not exists:
        raise ValueError(f"workspace {shown} does not exist on the daemon's machine")
    if not is_dir:
        raise ValueError(f"workspace {shown} is not a folder")
    if resolved == Path(resolved.anchor):
        raise ValueError(f"workspace {shown} is the root folder; give the repository's folder")
    if not project:
        raise ValueError(
            f"workspace {shown} is neither a git repository nor a project "
            f"(it holds none of {', '.join(PROJECT_MARKERS[:5])}, ...)"
        )
    return str(resolved)
