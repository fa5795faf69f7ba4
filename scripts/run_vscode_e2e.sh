#!/usr/bin/env bash
# The VS Code extension end to end in a real extension host (code-server + headless
# Chromium): sets up (scripts/setup_vscode_e2e.sh, idempotent), packages the .vsix when it
# is missing or older than the extension's sources, then runs
# tests/editors/test_vscode_host.py. Extra arguments go to pytest.
# MOCHI_E2E_SCREENSHOT=docs/vscode-inline-completion.png refreshes the screenshot in docs/.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
[[ -x .venv/bin/python ]] || bash scripts/setup.sh
bash scripts/setup_vscode_e2e.sh

vsix=editors/vscode/mochi-0.1.0.vsix
if [[ ! -f "$vsix" || -n "$(find editors/vscode/src editors/vscode/package.json -newer "$vsix" -print -quit)" ]]; then
    echo "== packaging $vsix" >&2
    (cd editors/vscode && npm ci --no-audit --no-fund && npm run package)
fi

echo "== VS Code extension host end to end (code-server, headless Chromium)" >&2
.venv/bin/python -m pytest tests/editors/test_vscode_host.py -p no:cacheprovider "$@"
