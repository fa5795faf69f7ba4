"""A fixture repository and the server command for end-to-end LSP tests."""

from __future__ import annotations

import sys
from pathlib import Path

from git_repo import GitRepo

SERVER_COMMAND = [sys.executable, "-m", "mochi.server.cli.main", "serve"]

REGISTRY_PY = '''"""Shape registry."""

_FACTORIES = {}


def register_shape_factory(name, factory):
    """Register a factory that builds the shape called `name`."""
    _FACTORIES[name] = factory


def build_shape(name, *args):
    """Build a registered shape."""
    return _FACTORIES[name](*args)
'''

MAIN_PY = """import geometry.registry as registry


def add(a, b):
    return a + b


def area_of_square(side):
    return side * side


def make():
    shape = registry.build_shape("circle", 2)
    return shape
"""


def build_repo(root: Path, main_py: str = MAIN_PY) -> GitRepo:
    repo = GitRepo.create(root)
    repo.write("geometry/__init__.py", "")
    repo.write("geometry/registry.py", REGISTRY_PY)
    repo.write("app/main.py", main_py)
    repo.write("README.md", "# Shapes\n\nRegister shape factories, then build shapes.\n")
    repo.commit("Add the shape registry")
    return repo
