"""`mochi demo` as a new user runs it: the console script, in the repository's folder.

The repository has top-level `httpx/` and `pygls/` packages that raise on import (as
httpx's own repository would shadow the installed httpx), and two definitions named
`request` in different files. The tiny random Llama stands in for the model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from git_repo import GitRepo

from mochi.server.cli.demo_cmd import connect_text

MOCHI = Path(sys.executable).parent / "mochi"
SHADOW = (
    'raise ImportError("the workspace\'s own {name}/ was imported instead of the installed one")\n'
)

API_PY = '''"""A tiny HTTP helper."""


def request(method, url):
    """Send one request and return its status."""
    return send(method, url)


def send(method, url):
    return 200
'''

# The other `request`: a method in a class big enough to be indexed member by member,
# saying "request" so often that a plain search for the name ranks it first.
HOOKS = "".join(
    f'''
    def request_hook_{i}(self, request):
        """Run request hook {i} on the request before the request is sent."""
        return self.hooks[{i}](request)
'''
    for i in range(12)
)
CLIENT_PY = f'''"""Sessions: every request goes through the request hooks."""


class Session:
    """Each request goes through the request hooks."""

    def request(self, request_method, request_url):
        """Send the request: the request hooks run on each request."""
        request = (request_method, request_url)
        return request
{HOOKS}'''


@pytest.fixture
def workspace(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "project")
    for name in ("httpx", "pygls"):
        repo.write(f"{name}/__init__.py", SHADOW.format(name=name))
    repo.write("api.py", API_PY)
    repo.write("client.py", CLIENT_PY)
    repo.commit("A project with packages named like mochi's dependencies")
    return repo


@pytest.mark.slow
def test_demo_runs_in_a_repository_that_shadows_mochis_dependencies(
    workspace: GitRepo, tmp_path: Path, tiny_model_dir: Path
) -> None:
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "MOCHI_MODEL__NAME": str(tiny_model_dir),
        "MOCHI_MODEL__DTYPE": "float32",
    }
    done = subprocess.run(
        [str(MOCHI), "demo", "."],
        cwd=workspace.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exited with return code" not in done.stderr
    # The demo hovers `request` where api.py defines it: the hover shows that definition,
    # not the method of the same name in client.py.
    assert "hover on `request` (api.py:4)" in done.stdout, done.stdout
    assert "**`request`** — function in `api.py:4`" in done.stdout, done.stdout
    assert "completion at api.py:" in done.stdout


def test_the_connect_text_points_at_this_checkouts_plugin_and_extension() -> None:
    """What `mochi demo` says about editors is what editors/README.md says: the plugin and
    the extension of this checkout, with the mochi executable to start."""
    editors = Path(__file__).resolve().parents[2] / "editors"
    text = connect_text()
    assert f"{editors}/README.md" in text
    assert f"vim.opt.runtimepath:append('{editors}/neovim')" in text
    assert f"{editors}/vscode" in text and "mochi.serverPath" in text
    readme = (editors / "README.md").read_text(encoding="utf-8")
    for said in ("vim.opt.runtimepath:append(", "require('mochi').setup(", "mochi.serverPath"):
        assert said in readme
    assert "generic LSP client extension" not in text
