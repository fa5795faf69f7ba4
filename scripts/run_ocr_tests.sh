#!/usr/bin/env bash
# Run the OCR-marked tests in .venv-ocr (created by scripts/setup_ocr_env.sh).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
bash scripts/setup_ocr_env.sh
# The OCR test and the PDF tests that need pypdfium2 (skipped in the main venv).
exec .venv-ocr/bin/python -m pytest tests/rag/test_ocr.py tests/rag/test_sources_pdf.py -q "$@"
