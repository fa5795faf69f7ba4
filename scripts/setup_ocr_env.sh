#!/usr/bin/env bash
# Create .venv-ocr: the environment the OCR tests (pytest -m ocr) run in.
#
# easyocr needs a torchvision built for the installed torch. The machine's local CPU torch
# wheel has no matching torchvision, so this venv takes PyPI's default torch and
# torchvision (CUDA builds that also run on CPU; several GB). Idempotent: an existing
# .venv-ocr that already imports easyocr, its offline English models and mochi is kept.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.venv-ocr"
python_bin="${PYTHON:-python3}"

check_env() {
    "$venv/bin/python" - <<'PY' >/dev/null 2>&1
import easyocr  # noqa: F401
import easyocr_en_models  # noqa: F401
import pypdfium2  # noqa: F401
import pytest  # noqa: F401
import torchvision.ops  # noqa: F401  (fails when torch and torchvision do not match)
import mochi.rag.sources  # noqa: F401
PY
}

if [[ -x "$venv/bin/python" ]] && check_env; then
    echo "setup_ocr_env: $venv is ready"
    exit 0
fi

echo "setup_ocr_env: creating $venv" >&2
"$python_bin" -m venv "$venv"
"$venv/bin/python" -m pip install --upgrade pip
# Plain torch + torchvision from PyPI (never the local torch==*+cpu wheel: PyPI's
# torchvision fails at import beside it). An empty PIP_FIND_LINKS hides the local wheels.
PIP_FIND_LINKS="" "$venv/bin/python" -m pip install torch torchvision
"$venv/bin/python" -m pip install -e "$repo_root[ocr,dev]"

if ! check_env; then
    echo "setup_ocr_env: $venv was built but easyocr still does not import" >&2
    exit 1
fi
echo "setup_ocr_env: $venv is ready"
