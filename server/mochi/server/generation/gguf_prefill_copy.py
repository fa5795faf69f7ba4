"""The bf16 copy of a GGUF that llama.cpp evaluates long prompts from, made once and cached.

llama.cpp's prompt evaluation (prefill) is fast only for the weight types its matrix
kernels cover. On the 2-core machines mochi is developed on, a 1,100-token prompt of
SmolLM2-135M takes 2.8 s from the packaged Q4_1 GGUF and 1.15 s from a bf16 copy of the
same weights, while one decoded token is cheaper from the Q4_1 (9.1 ms against 11.2 ms;
docs/benchmarks/gguf-types.md, scripts/bench_gguf_types.py). So the back end evaluates
long prompt tails on the copy and decodes on the original (`llamacpp_prefill`).

The copy is written by llama.cpp's own quantizer (bf16 holds every Q4_1 weight to within
bf16 rounding: the same perplexity as a float32 copy), in a subprocess because the
quantizer prints to the C stdout, which carries the LSP messages in stdio mode. It lands
in $XDG_CACHE_HOME/mochi/models/gguf under a name keyed by the source file's path, size
and modification time, written to a temporary name and renamed, so a crash leaves no
half file under the final name.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path

from mochi.server.generation.types import GenerationError

log = logging.getLogger(__name__)

# llama.cpp file types (general.file_type) whose prefill kernels are fast on CPU: float16,
# bfloat16, Q8_0 and Q4_0. Q4_1 (the packaged model), float32 and the others get a copy.
FAST_PREFILL_TYPES = frozenset({1, 2, 7, 32})
# A copy costs 2 bytes per weight in memory beside the original: only for small models,
# and not for toy ones (a few million weights prefill fast from any type).
MAX_COPY_BYTES = 2 * 1024**3
MIN_COPY_PARAMETERS = 50_000_000

_QUANTIZE = """
import sys
import llama_cpp
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_BF16
params.allow_requantize = True
sys.exit(llama_cpp.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), params))
"""


def gguf_cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """$XDG_CACHE_HOME/mochi/models/gguf (else ~/.cache/...): shared by every workspace."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "mochi" / "models" / "gguf"


def needs_prefill_copy(file_type: int, parameters: int) -> bool:
    """Whether a model of this llama.cpp file type and size gains from a bf16 copy."""
    if file_type in FAST_PREFILL_TYPES:
        return False
    return parameters >= MIN_COPY_PARAMETERS and 2 * parameters <= MAX_COPY_BYTES


def prefill_copy(source: Path, cache_root: Path | None = None) -> Path:
    """The bf16 copy of `source`, made on the first call (a few seconds for 135M weights)."""
    source = source.resolve()
    stat = source.stat()
    key = hashlib.sha256(f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()
    root = cache_root or gguf_cache_root()
    target = root / f"{source.stem}-{key[:16]}.bf16.gguf"
    if target.is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".tmp-{uuid.uuid4().hex}.gguf"
    log.info("writing a bf16 copy of %s for fast prompt evaluation: %s", source.name, target)
    try:
        done = subprocess.run(
            [sys.executable, "-c", _QUANTIZE, str(source), str(tmp)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=600,
            check=False,
        )
        if done.returncode != 0 or not tmp.is_file():
            tail = done.stderr.decode("utf-8", errors="replace").strip().splitlines()[-3:]
            raise GenerationError(
                f"llama.cpp could not write a bf16 copy of {source}: " + " | ".join(tail)
            )
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
