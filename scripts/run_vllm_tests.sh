#!/usr/bin/env bash
# Run the vLLM-marked tests: a real vLLM OpenAI-compatible server (CPU) started from
# .venv-vllm (created by scripts/setup_vllm_env.sh), driven by the main venv's pytest.
# Extra arguments go to pytest.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
bash scripts/setup_vllm_env.sh
export MOCHI_VLLM_PYTHON="$repo_root/.venv-vllm/bin/python"
exec .venv/bin/python -m pytest -m vllm tests/server -q "$@"
