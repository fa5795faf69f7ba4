"""The VS Code extension (editors/vscode) end to end in a real extension host: code-server
(VS Code for the browser, from npm) installs the packaged .vsix, headless Chromium opens a
fixture repository, and the extension starts the real `mochi serve`; an inline completion
(ghost text, accepted with Tab), a hover and a code action (resolved and applied) come
back. The browser side is editors/vscode/e2e/run.mjs; set up with
scripts/setup_vscode_e2e.sh (skipped without it). Run it all with scripts/run_vscode_e2e.sh.

MOCHI_E2E_SCREENSHOT=docs/vscode-inline-completion.png also saves the ghost-text picture
there (the test otherwise keeps it in its tmp folder)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from lsp_fixtures import build_repo
from process_group import run_process_group

ROOT = Path(__file__).resolve().parents[2]
VSCODE = ROOT / "editors" / "vscode"
E2E = VSCODE / "e2e"
DRIVER = E2E / "run.mjs"
VSIX = VSCODE / "mochi-0.1.0.vsix"
CHROMIUMS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
TIMEOUT_S = 780

MAIN_PY = """import geometry.registry as registry


def add(a, b):
    return a + b


def make():
    shape = registry.build_shape("circle", 2)
    return shape
"""


def missing_setup() -> str | None:
    """Why the end-to-end test cannot run here, or None."""
    setup = "run scripts/setup_vscode_e2e.sh"
    if shutil.which("node") is None:
        return "no node (Node 20 is needed for code-server)"
    if not (E2E / "node_modules" / ".bin" / "code-server").exists():
        return f"code-server is not installed in editors/vscode/e2e: {setup}"
    if not (E2E / "node_modules" / "playwright-core").is_dir():
        return f"playwright-core is not installed in editors/vscode/e2e: {setup}"
    if os.environ.get("CHROMIUM_PATH") is None and not any(Path(p).exists() for p in CHROMIUMS):
        return f"no Chromium ({', '.join(CHROMIUMS)}): {setup}"
    if not VSIX.exists():
        return f"no {VSIX.relative_to(ROOT)}: cd editors/vscode && npm ci && npm run package"
    return None


@pytest.fixture(scope="module")
def e2e_ready() -> None:
    """Skips (before any model work) when the set-up has not been run."""
    if (why := missing_setup()) is not None:
        pytest.skip(why)


@pytest.fixture(scope="module")
def mochi_data_home(e2e_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An XDG_DATA_HOME whose mochi/ already holds the default model (SmolLM2-135M)."""
    from mochi.server.models import ModelStore, ModelStoreError, packaged_gguf

    try:
        packaged_gguf()
    except ModelStoreError as exc:  # the wheel is missing; the message says how to get it
        pytest.skip(str(exc))
    home = tmp_path_factory.mktemp("xdg-data")
    ModelStore(home / "mochi").default_model()
    return home


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.timeout(TIMEOUT_S + 60)
def test_vsix_in_code_server_answers_completion_hover_and_code_action(
    mochi_data_home: Path, tmp_path: Path
) -> None:
    mochi = shutil.which("mochi", path=str(Path(sys.executable).parent))
    assert mochi is not None, "no mochi executable next to this Python"
    repo = build_repo(tmp_path / "ws", MAIN_PY)
    out = tmp_path / "e2e"
    command = [
        "node",
        str(DRIVER),
        "--workspace",
        str(repo.root),
        "--file",
        "app/main.py",
        "--mochi",
        mochi,
        "--vsix",
        str(VSIX),
        "--out",
        str(out),
        "--data-home",
        str(mochi_data_home),
    ]
    if shot := os.environ.get("MOCHI_E2E_SCREENSHOT"):
        command += ["--screenshot", str(Path(shot).resolve())]
    # code-server, its extension host and `mochi serve` go with the driver
    done = run_process_group(command, cwd=E2E, timeout=TIMEOUT_S, what="the e2e driver")
    output = done.stdout

    results_file = out / "results.json"
    assert results_file.exists(), f"no results (exit {done.returncode}):\n{output}"
    results = json.loads(results_file.read_text())
    checks = results["checks"]
    failed = {name: c for name, c in checks.items() if not c["ok"]}
    report = json.dumps(results, indent=2)[-8000:]
    assert results.get("error") is None and not failed, f"artifacts in {out}\n{report}"
    assert done.returncode == 0, output[-4000:]
    assert set(checks) >= {
        "extension_installed",
        "server_started",
        "inline_completion",
        "inline_accepted",
        "hover",
        "code_actions",
        "code_action_resolved",
    }
    assert checks["inline_completion"]["detail"]["ghost"]
    assert "geometry/registry.py" in checks["hover"]["detail"]["text"]
    assert "mochi: Generate docstring" in checks["code_actions"]["detail"]["titles"]
