"""Wall time of `mochi search` on an indexed repository: a new process each run, first
searching the index itself (cold: no server), then with a running `mochi serve` that
shares its index (the query is forwarded to it).

    python scripts/bench_search_cli.py [--workspace .] [--runs 5] [--source DIR]

Run `mochi index WORKSPACE` first (with the same XDG_DATA_HOME / data_dir). `--source`
times another checkout's code (its server/, rag/ and trainer/ go first on PYTHONPATH),
e.g. the commit before a change; it skips the server runs unless `--with-server`. Writes
docs/benchmarks/search-cli.{md,json} (a `--source` run adds its figures as a baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

QUERIES = (
    "how is the index lock taken",
    "reciprocal rank fusion of dense and sparse hits",
    "where does the language server share its index",
    "EdgeVectorStore",
    "what happens when the embedding model changes",
)
SERVER_READY_S = 900.0


def environment(source: Path | None) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    if source is not None:
        parts = [str(source / part) for part in ("server", "rag", "trainer")]
        env["PYTHONPATH"] = os.pathsep.join([*parts, env.get("PYTHONPATH", "")])
    return env


def search_once(workspace: Path, query: str, env: Mapping[str, str]) -> tuple[float, str]:
    """(wall seconds, stdout) of one `mochi search` in a new process."""
    command = [sys.executable, "-m", "mochi.server.cli.main", "search", query]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "-w", str(workspace), "-k", "5"],
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=600,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"mochi search failed ({done.returncode}): {done.stderr[-2000:]}")
    return took, done.stdout


def timed_runs(workspace: Path, runs: int, env: Mapping[str, str]) -> dict[str, Any]:
    times = []
    outputs = []
    for i in range(runs):
        took, out = search_once(workspace, QUERIES[i % len(QUERIES)], env)
        times.append(took)
        outputs.append(out)
        print(f"  run {i + 1}: {took:.2f} s", file=sys.stderr)
    return {"runs_s": times, "p50_s": statistics.median(times), "outputs": outputs}


def _frame(message: dict[str, Any]) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class EditorStandIn:
    """`mochi serve` on stdio with the least an editor does: initialize on the workspace,
    answer the server's own requests with null, shut down at the end."""

    def __init__(self, workspace: Path, env: Mapping[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mochi.server.cli.main", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(env),
        )
        self._write_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()
        self.send(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "processId": os.getpid(),
                    "rootUri": workspace.as_uri(),
                    "capabilities": {},
                },
            }
        )
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(_frame(message))
            self.proc.stdin.flush()

    def _read(self) -> None:
        stream: IO[bytes] | None = self.proc.stdout
        assert stream is not None
        while True:
            length = 0
            while True:
                line = stream.readline()
                if not line:
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                if line in (b"\r\n", b"\n"):
                    break
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:  # the server asks: answer null
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": None})

    def close(self) -> None:
        try:
            self.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
            time.sleep(0.5)
            self.send({"jsonrpc": "2.0", "method": "exit"})
            self.proc.wait(timeout=60)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def share_file_of(workspace: Path, env: Mapping[str, str]) -> Path:
    code = (
        "import sys; from pathlib import Path\n"
        "from mochi.server.config import load_config\n"
        "from mochi.server.cli.search_served import share_file_of\n"
        "root = Path(sys.argv[1]).resolve()\n"
        "print(share_file_of(load_config(root).data_dir, root))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(workspace)],
        capture_output=True,
        text=True,
        env=dict(env),
        check=True,
    )
    return Path(out.stdout.strip())


def with_server(workspace: Path, runs: int, env: Mapping[str, str]) -> dict[str, Any]:
    share = share_file_of(workspace, env)
    editor = EditorStandIn(workspace, env)
    try:
        started = time.monotonic()
        while not share.exists():
            if editor.proc.poll() is not None or time.monotonic() - started > SERVER_READY_S:
                raise SystemExit("mochi serve did not share its index")
            time.sleep(0.5)
        print(f"  the server shares its index after {time.monotonic() - started:.0f} s")
        search_once(workspace, QUERIES[0], env)  # the server's first query loads its model
        return timed_runs(workspace, runs, env)
    finally:
        editor.close()


def write_report(out: Path, data: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "search-cli.json").write_text(json.dumps(data, indent=2) + "\n")
    rows = []
    if "baseline" in data:
        label = data["baseline"]["label"]
        rows.append((f"before ({label}): cold", data["baseline"]["cold"]))
        if "served" in data["baseline"]:
            rows.append((f"before ({label}): with a running server", data["baseline"]["served"]))
    if "cold" in data:
        rows.append(("cold: a new process searches the index itself", data["cold"]))
    for name, row in data.get("variants", {}).items():
        rows.append((f"cold, {name}", row))
    if "served" in data:
        rows.append(("with a running `mochi serve` (forwarded to it)", data["served"]))
    lines = [
        "# `mochi search` wall time",
        "",
        f"Measured by `python scripts/bench_search_cli.py --runs {data.get('runs', '?')}` on "
        f"{data.get('workspace', '?')} ({data.get('chunks', '?')} chunks indexed): each run is "
        "a new `mochi search QUERY -k 5` process, wall seconds from start to exit, p50 over the "
        f"runs (queries vary). Machine: {data.get('machine', '?')}.",
        "",
        "| how | p50 (s) | runs (s) |",
        "|---|---|---|",
    ]
    for label, row in rows:
        runs = ", ".join(f"{t:.2f}" for t in row["runs_s"])
        lines.append(f"| {label} | {row['p50_s']:.2f} | {runs} |")
    same = data.get("served_prints_the_same")
    if same is not None:
        lines += ["", f"The forwarded search printed the same hits as the local one: {same}."]
    (out / "search-cli.md").write_text("\n".join(lines) + "\n")


def chunk_count(workspace: Path, env: Mapping[str, str]) -> int:
    code = (
        "import sys, sqlite3; from pathlib import Path\n"
        "from mochi.server.config import load_config\n"
        "from mochi.rag.paths import data_dir, index_dir\n"
        "root = Path(sys.argv[1]).resolve()\n"
        "db = index_dir(data_dir(load_config(root).data_dir), root) / 'manifest.sqlite'\n"
        "print(sqlite3.connect(db).execute('select count(*) from chunks').fetchone()[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(workspace)],
        capture_output=True,
        text=True,
        env=dict(env),
        check=True,
    )
    return int(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=Path(__file__).parents[1])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", type=Path, default=None, help="time this checkout")
    parser.add_argument("--label", default="", help="what --source is, for the report")
    parser.add_argument("--with-server", action="store_true", help="with --source too")
    parser.add_argument(
        "--variant",
        default="",
        help="time the cold path only and report it under this name (e.g. another "
        "embedding back end, set by MOCHI_EMBEDDING__BACKEND)",
    )
    parser.add_argument(
        "--what", default="", help="the workspace, in words, for the report (default: its name)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parents[1] / "docs" / "benchmarks"
    )
    args = parser.parse_args()
    workspace = args.workspace.resolve()
    env = environment(args.source)
    report_file = args.out / "search-cli.json"
    data: dict[str, Any] = json.loads(report_file.read_text()) if report_file.is_file() else {}
    print("cold, local path:", file=sys.stderr)
    cold = timed_runs(workspace, args.runs, env)
    if args.variant:
        data.setdefault("variants", {})[args.variant] = _summary(cold)
    elif args.source is not None:
        label = args.label or str(args.source)
        data["baseline"] = {"label": label, "cold": _summary(cold)}
        if args.with_server:
            print("with a server:", file=sys.stderr)
            data["baseline"]["served"] = _summary(with_server(workspace, args.runs, env))
    else:
        data.update(
            workspace=args.what or workspace.name,
            runs=args.runs,
            chunks=chunk_count(workspace, env),
            machine=f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start",
            cold=_summary(cold),
        )
        print("with a server:", file=sys.stderr)
        served = with_server(workspace, args.runs, env)
        data["served"] = _summary(served)
        data["served_prints_the_same"] = served["outputs"] == cold["outputs"]
    write_report(args.out, data)
    print(json.dumps({k: v for k, v in data.items() if k in ("cold", "served", "baseline")}))


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    return {"runs_s": row["runs_s"], "p50_s": row["p50_s"]}


if __name__ == "__main__":
    main()
