"""Typing-user latency of `mochi serve`: inline completions one keystroke apart.

    python scripts/bench_latency.py [--keystrokes 120] [--llamacpp [--gguf FILE]]
        [--vllm-python .venv-vllm/bin/python]

A real LSP client (pygls) starts `mochi serve` on a scratch copy of this
repository, opens a real source file, and types a stretch of it one character
at a time, asking for an inline completion after every keystroke and waiting
for the answer. Model: SmolLM2-135M (the packaged default). Runs, each with and
without prefix reuse: the transformers back end (KV cache of the unchanged
prompt prefix on or off) and, with --vllm-python, a vLLM CPU server (automatic
prefix caching on or off). With --llamacpp: the llama.cpp back end (prefix reuse on, off;
the GGUF of the packaged model unless --gguf), the openai back end against
llama-cpp-python's own server, and the anchor: the prompts the server built, replayed
through llama-cpp-python alone (scripts/latency_llamacpp_anchor.py), with its automatic
prefix reuse and without. The server reports its own timings (mochi.timings),
which give the breakdown: retrieval, prompt, prefill, decode, and the rest
(LSP, scheduling). Results: docs/benchmarks/latency.{md,json,png}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from mochi.server.lsp_client import MochiClient

REPO = Path(__file__).resolve().parents[1]
TARGET = "rag/mochi/rag/index/indexer.py"
ANCHOR = "    def _apply(self, batch: _Batch, report: IndexReport) -> None:\n"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def make_workspace(scratch: Path) -> tuple[Path, str, str]:
    """A copy of this repository's Python sources; the target file cut at ANCHOR's body."""
    root = scratch / "ws"
    for part in ("rag", "server"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "b",
        "GIT_AUTHOR_EMAIL": "b@b",
        "GIT_COMMITTER_NAME": "b",
        "GIT_COMMITTER_EMAIL": "b@b",
    }
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "copy"]):
        subprocess.run(cmd, cwd=root, check=True, env=env)
    text = (root / TARGET).read_text()
    cut = text.index(ANCHOR) + len(ANCHOR)
    return root, text[:cut], text[cut:]


async def typing_session(
    root: Path, data: Path, prefix: str, typed: str, options: dict[str, Any]
) -> dict[str, Any]:
    client = MochiClient()
    await client.start(root, {"dataDir": str(data), **options})
    uri = client.open(root / TARGET, prefix)
    lines = prefix.split("\n")
    line, col = len(lines) - 1, len(lines[-1])
    await client.inline(uri, line, col)  # warm-up: loads the model
    baseline = len(await client.command("mochi.timings"))
    e2e: list[float] = []
    for ch in typed:
        client.insert(uri, line, col, ch)
        line, col = (line + 1, 0) if ch == "\n" else (line, col + 1)
        started = time.perf_counter()
        await client.inline(uri, line, col)
        e2e.append(1000 * (time.perf_counter() - started))
    timings = await client.command("mochi.timings")
    rss_kib = 0
    with open(f"/proc/{client.server_pid}/status") as fh:
        for row in fh:
            if row.startswith("VmHWM:"):
                rss_kib = int(row.split()[1])
    await client.stop()
    server = [dict(t) for t in timings][baseline:][-len(e2e) :]
    return {"e2e_ms": e2e, "server": server, "peak_rss_mib": rss_kib / 1024}


def summarise(name: str, run: dict[str, Any]) -> dict[str, Any]:
    e2e = run["e2e_ms"]
    server = run["server"]

    def med(key: str) -> float:
        return statistics.median(float(t[key]) for t in server)

    gen = [float(t["prefill_ms"]) + float(t["decode_ms"]) for t in server]
    return {
        "run": name,
        "requests": len(e2e),
        "p50_ms": round(statistics.median(e2e), 1),
        "p95_ms": round(pct(e2e, 0.95), 1),
        "retrieval_ms_p50": round(med("retrieval_ms"), 1),
        "prompt_ms_p50": round(med("prompt_ms"), 1),
        "prefill_ms_p50": round(med("prefill_ms"), 1),
        "decode_ms_p50": round(med("decode_ms"), 1),
        "lsp_and_scheduling_ms_p50": round(
            statistics.median(
                e - (float(t["retrieval_ms"]) + float(t["prompt_ms"]) + g)
                for e, t, g in zip(e2e, server, gen, strict=False)
            ),
            1,
        ),
        "prompt_tokens_p50": med("prompt_tokens"),
        "cached_tokens_p50": med("cached_tokens"),
        "completion_tokens_p50": med("completion_tokens"),
        "e2e_over_generation_p50": round(
            statistics.median(e / g for e, g in zip(e2e, gen, strict=False) if g > 0), 3
        ),
        "peak_server_rss_mib": round(run["peak_rss_mib"]),
    }


def llamacpp_runs(
    root: Path,
    data: Path,
    prefix: str,
    typed: str,
    common: dict[str, Any],
    args: argparse.Namespace,
) -> list[dict[str, Any]]:
    """mochi's llama.cpp back end over LSP (prefix reuse on, off), then llama-cpp-python
    alone on the prompts that back end was given (the anchor)."""
    from latency_llamacpp_anchor import raw_llama_cpp, served_prompts

    from mochi.server.generation.gguf_prefill_copy import prefill_copy
    from mochi.server.generation.llamacpp_backend import LlamaCppGenerator
    from mochi.server.models import packaged_gguf

    gguf = args.gguf or packaged_gguf()
    runs = []
    served_tokens: list[int] = []
    for cache in (True, False):
        name = f"llama.cpp, prefix reuse {'on' if cache else 'off'}"
        print(f"running: {name}", file=sys.stderr)
        model = {"backend": "llama.cpp", "gguf": str(gguf), "threads": args.threads}
        options = {**common, "model": {**model, "prefixCache": cache}}
        result = asyncio.run(typing_session(root, data, prefix, typed, options))
        runs.append(summarise(name, result))
        if cache:
            served_tokens = [int(t["completion_tokens"]) for t in result["server"]]
    print("running: openai back end, llama-cpp-python's server", file=sys.stderr)
    proc, url = start_llama_cpp_server(gguf, args.threads)
    try:
        model = {"backend": "openai", "openaiUrl": url, "openaiFim": "none"}
        options = {**common, "model": model}
        result = asyncio.run(typing_session(root, data, prefix, typed, options))
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
    runs.append(summarise("openai (llama-cpp-python server), its prefix reuse", result))
    print("running: llama.cpp raw anchor", file=sys.stderr)
    tokenizer = LlamaCppGenerator(str(gguf), threads=1)
    try:
        options = {"dataDir": str(data), **common}
        requests = served_prompts(root, TARGET, prefix, typed, options, tokenizer)
    finally:
        tokenizer.close()
    for reuse in (True, False):
        runs.append(raw_llama_cpp(gguf, requests, reuse=reuse, threads=args.threads))
    if len(served_tokens) == len(requests):
        runs.append(
            raw_llama_cpp(
                gguf,
                requests,
                reuse=True,
                threads=args.threads,
                counts=served_tokens,
                label=" decoding mochi's token counts",
            )
        )
    # llama.cpp's fastest cold path on this CPU: the same weights as bf16
    copy = prefill_copy(gguf)
    runs.append(
        raw_llama_cpp(copy, requests, reuse=False, threads=args.threads, label=" bf16 copy")
    )
    return runs


def start_llama_cpp_server(gguf: Path, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    """llama-cpp-python's OpenAI-compatible server on a free loopback port."""
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host"]
    cmd += ["127.0.0.1", "--port", str(port), "--n_threads", str(threads), "--n_ctx", "4096"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url + "/v1/models", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("llama_cpp.server did not start")


def anchor_ratios(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """The issue's goals: mochi's default path against raw llama.cpp, with reuse and cold."""
    by_name = {r["run"]: r for r in runs}
    raw = "llama.cpp raw (llama-cpp-python)"
    raw_on = by_name.get(f"{raw}, prefix reuse on")
    raw_same = by_name.get(f"{raw} decoding mochi's token counts, prefix reuse on")
    cold = [
        by_name.get(name)
        for name in (
            f"{raw}, prefix reuse off",
            f"{raw} bf16 copy, prefix reuse off",
            "transformers, prefix reuse off",
        )
    ]
    fastest = min((r["p50_ms"] for r in cold if r is not None), default=None)
    ratios: dict[str, dict[str, float]] = {}
    for backend in ("transformers", "llama.cpp"):
        on = by_name.get(f"{backend}, prefix reuse on")
        off = by_name.get(f"{backend}, prefix reuse off")
        mine = ratios.setdefault(f"{backend} vs raw llama.cpp", {})
        if raw_on and on:
            mine["p50_reuse_over_raw_reuse"] = round(on["p50_ms"] / raw_on["p50_ms"], 3)
        if raw_same and on:
            mine["p50_reuse_over_raw_same_tokens"] = round(on["p50_ms"] / raw_same["p50_ms"], 3)
        if fastest and off:
            mine["p50_cold_over_fastest_cold"] = round(off["p50_ms"] / fastest, 3)
    return {name: values for name, values in ratios.items() if values}


def plot(runs: list[dict[str, Any]], out: Path) -> None:
    """p50 and p95 per run, horizontal bars, log scale (cold runs are seconds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["run"] for r in runs]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(runs) + 1.2))
    y = range(len(runs))
    ax.barh([i + 0.2 for i in y], [r["p95_ms"] for r in runs], 0.4, label="p95", color="#c9d6ea")
    ax.barh([i - 0.2 for i in y], [r["p50_ms"] for r in runs], 0.4, label="p50", color="#3b6fb6")
    ax.set_yticks(list(y), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("ms per inline completion (log scale)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_vllm(
    python: str, model_dir: Path, prefix_caching: bool
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "VLLM_CPU_KVCACHE_SPACE": "1",
        "VLLM_CPU_OMP_THREADS_BIND": "0-1",
        "VLLM_CPU_NUM_OF_RESERVED_CPU": "0",
    }
    cmd = [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(model_dir),
        "--served-model-name",
        "smol",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--block-size",
        "32",
        "--max-model-len",
        "4096",
        "--enable-prompt-tokens-details",
    ]
    if not prefix_caching:
        cmd.append("--no-enable-prefix-caching")
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(1)
    os.killpg(proc.pid, signal.SIGKILL)
    raise RuntimeError("vLLM did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keystrokes", type=int, default=120)
    parser.add_argument(
        "--prompt-tokens",
        type=int,
        default=1250,
        help="completion.promptTokens; 1250 gives ~1,100-token prompts on the target file",
    )
    parser.add_argument("--vllm-python", default="")
    parser.add_argument(
        "--llamacpp",
        action="store_true",
        help="also the llama.cpp back end and the raw llama-cpp-python anchor on its prompts",
    )
    parser.add_argument(
        "--gguf",
        type=Path,
        default=None,
        help="the GGUF for the llama.cpp runs (default: the packaged SmolLM2-135M's)",
    )
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    parser.add_argument("--out", type=Path, default=REPO / "docs/benchmarks")
    args = parser.parse_args()
    from mochi.server.models import ModelStore

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        data = scratch / "data"
        model_dir = ModelStore(data).default_model()
        root, prefix, rest = make_workspace(scratch)
        typed = rest[: args.keystrokes]
        common = {
            "completion": {
                "promptTokens": args.prompt_tokens,
                "contextTokens": 256,
                "maxTokens": 24,
            }
        }
        runs: list[dict[str, Any]] = []
        for cache in (True, False):
            name = f"transformers, prefix reuse {'on' if cache else 'off'}"
            print(f"running: {name}", file=sys.stderr)
            result = asyncio.run(
                typing_session(
                    root,
                    data,
                    prefix,
                    typed,
                    {**common, "model": {"backend": "transformers", "prefixCache": cache}},
                )
            )
            runs.append(summarise(name, result))
        if args.llamacpp:
            runs.extend(llamacpp_runs(root, data, prefix, typed, common, args))
        if args.vllm_python:
            for cache in (True, False):
                name = f"vllm, prefix caching {'on' if cache else 'off'}"
                print(f"running: {name}", file=sys.stderr)
                proc, url = start_vllm(args.vllm_python, model_dir, cache)
                try:
                    options = {
                        **common,
                        "model": {"backend": "vllm", "vllmUrl": url, "vllmModel": "smol"},
                    }
                    result = asyncio.run(typing_session(root, data, prefix, typed, options))
                finally:
                    os.killpg(proc.pid, signal.SIGKILL)
                runs.append(summarise(name, result))

    ratios: dict[str, dict[str, float]] = {}
    for backend in ("transformers", "llama.cpp", "vllm"):
        # "llama.cpp, prefix reuse on", not "llama.cpp raw (...)": the name and a comma
        mine = [r for r in runs if r["run"].startswith(f"{backend}, ")]
        on = next((r for r in mine if r["run"].endswith("on")), None)
        off = next((r for r in mine if r["run"].endswith("off")), None)
        if on and off:
            ratios[backend] = {
                "p50_reuse_over_no_reuse": round(on["p50_ms"] / off["p50_ms"], 3),
                "e2e_over_generation_p50": on["e2e_over_generation_p50"],
            }
    ratios.update(anchor_ratios(runs))
    payload = {"target_file": TARGET, "keystrokes": len(typed), "runs": runs, "ratios": ratios}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latency.json").write_text(json.dumps(payload, indent=2))
    keys = list(runs[0])
    rows = [{k: r.get(k, "") for k in keys} for r in runs]
    md = [
        "# Completion latency while typing",
        "",
        "Measured by `python scripts/bench_latency.py"
        + (" --vllm-python .venv-vllm/bin/python" if args.vllm_python else "")
        + "` on 2 CPU cores: SmolLM2-135M (bf16 on transformers), a real LSP client typing",
        f"{len(typed)} characters into `{TARGET}`, one inline-completion request per keystroke.",
        "",
        "| " + " | ".join(keys) + " |",
        "|" + "---|" * len(keys),
        *["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows],
        "",
        "Ratios (goals: end-to-end ÷ generation ≤ 1.15; p50 with reuse ÷ without ≤ 0.35):",
        "",
        *[f"- {b}: {v}" for b, v in ratios.items()],
    ]
    plot(runs, args.out / "latency.png")
    md += ["", "![p50 and p95 per run](latency.png)"]
    (args.out / "latency.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
