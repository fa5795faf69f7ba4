"""`mochi trainer`: run the training daemon and talk to it.

mochi trainer serve [--host] [--port] [--data-dir] [--base-model DIR] [--max-jobs-per-device N]
                    [--max-body-bytes N] [--body-timeout S] [--shutdown-timeout S]
mochi trainer submit {finetune,continual,build-dataset,eval} [--workspace .] [--adapter NAME]
                     [--param key=value ...] [--wait]
mochi trainer jobs [--state STATE]
mochi trainer cancel ID
mochi trainer adapters
mochi trainer dashboard       (prints the dashboard's address, with the token)
mochi trainer export ADAPTER_DIR --out DIR [--base-model DIR] [--gguf [--gguf-dtype f16|f32]]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from mochi.rag.time_left import about_left
from mochi.server.cli.errors import CliError
from mochi.server.cli.workspace_option import add_workspace_option
from mochi.trainer.protocol import DEFAULT_HOST, DEFAULT_PORT, JobKind, JobRequest, JobState

if TYPE_CHECKING:
    from mochi.server.trainer_http import HttpTrainingClient

URL_ENV = "MOCHI_TRAINER_URL"
TOKEN_ENV = "MOCHI_TRAINER_TOKEN"
_T = TypeVar("_T")


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "trainer", help="the training daemon: serve it, submit jobs, list adapters"
    )
    sub = p.add_subparsers(dest="trainer_command", metavar="ACTION", required=True)

    serve = sub.add_parser("serve", help="run the training daemon (HTTP API, job queue)")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"address (default {DEFAULT_HOST})")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    serve.add_argument("--data-dir", default="", help="mochi data dir (default: XDG data dir)")
    serve.add_argument("--base-model", type=Path, help="default base model folder")
    serve.add_argument("--max-jobs-per-device", type=int, default=1, help="default 1")
    serve.add_argument(
        "--max-body-bytes", type=int, help="largest request body read (default 1 MiB; then 413)"
    )
    serve.add_argument(
        "--body-timeout", type=float, help="seconds a request body may take (default 10; then 408)"
    )
    serve.add_argument(
        "--shutdown-timeout",
        type=float,
        help="seconds SIGTERM/SIGINT waits for running jobs to checkpoint (default 30)",
    )
    serve.set_defaults(run=run_serve)

    submit = sub.add_parser("submit", help="queue a job")
    submit.add_argument("kind", choices=[k.value for k in JobKind])
    add_workspace_option(submit, "the repository to train on")
    submit.add_argument("--adapter", default="default", help="registry name (default: default)")
    submit.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="job parameter; dotted keys nest (train.max_steps=50); values are JSON or text",
    )
    submit.add_argument("--wait", action="store_true", help="follow the job until it ends")
    submit.set_defaults(run=run_submit)

    jobs = sub.add_parser("jobs", help="list jobs")
    jobs.add_argument("--state", choices=[s.value for s in JobState])
    jobs.add_argument("--json", action="store_true")
    jobs.set_defaults(run=run_jobs)

    cancel = sub.add_parser("cancel", help="cancel a job")
    cancel.add_argument("id")
    cancel.set_defaults(run=run_cancel)

    adapters = sub.add_parser("adapters", help="list published adapter versions")
    adapters.add_argument("--json", action="store_true")
    adapters.set_defaults(run=run_adapters)

    export = sub.add_parser(
        "export",
        help="merge an adapter into its base model: safetensors folder, GGUF, Ollama Modelfile",
    )
    export.add_argument("adapter", type=Path, help="adapter folder (e.g. adapters/NAME/v3)")
    export.add_argument("--out", type=Path, required=True, help="output folder")
    export.add_argument("--base-model", type=Path, help="base model folder (default: mochi's)")
    export.add_argument("--gguf", action="store_true", help="also write model.gguf (Llama)")
    export.add_argument("--gguf-dtype", choices=["f16", "f32"], default="f16")
    export.add_argument("--data-dir", default="", help="mochi data dir (default: XDG data dir)")
    export.set_defaults(run=run_export)

    dashboard = sub.add_parser(
        "dashboard", help="print the training dashboard's address (open it in a browser)"
    )
    dashboard.set_defaults(run=run_dashboard)

    for action in (submit, jobs, cancel, adapters, dashboard):
        action.add_argument("--url", default="", help=f"daemon URL (default ${URL_ENV} or local)")
        action.add_argument("--token", default="", help=f"bearer token (default ${TOKEN_ENV})")
        action.add_argument("--data-dir", default="", help="where the token file is")


def run_serve(args: argparse.Namespace) -> int:
    from mochi.rag.paths import data_dir
    from mochi.server.cli.served_completer import open_version_completer
    from mochi.trainer.daemon import config as daemon_config
    from mochi.trainer.daemon.serve import serve

    # A service's log is its stderr: each job's stages and progress, not only warnings.
    trainer_log = logging.getLogger("mochi.trainer")
    trainer_log.setLevel(min(trainer_log.getEffectiveLevel(), logging.INFO))
    data = data_dir(args.data_dir)
    base_model = args.base_model.resolve() if args.base_model else _default_base_model(data)
    try:
        config = daemon_config.DaemonConfig(
            data_dir=data,
            host=args.host,
            port=args.port,
            base_model=base_model,
            max_jobs_per_device=args.max_jobs_per_device,
            max_body_bytes=_given(args.max_body_bytes, daemon_config.MAX_BODY_BYTES),
            body_timeout_seconds=_given(args.body_timeout, daemon_config.BODY_TIMEOUT_SECONDS),
            shutdown_timeout_seconds=_given(
                args.shutdown_timeout, daemon_config.SHUTDOWN_TIMEOUT_SECONDS
            ),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    # The gate scores versions through the language server's own completion pipeline.
    serve(config, completers=open_version_completer)
    return 0


def _given(value: _T | None, default: _T) -> _T:
    return default if value is None else value


def run_export(args: argparse.Namespace) -> int:
    from mochi.rag.paths import data_dir
    from mochi.trainer.training.export import export_adapter
    from mochi.trainer.training.params import TrainingError

    base = args.base_model.resolve() if args.base_model else None
    if base is None:
        base = _default_base_model(data_dir(args.data_dir))
    print(f"mochi trainer: merging {args.adapter} into {base} ...", file=sys.stderr)
    try:
        result = export_adapter(
            args.adapter, base, args.out, gguf=args.gguf, gguf_dtype=args.gguf_dtype
        )
    except TrainingError as exc:
        raise CliError(str(exc)) from None
    print(f"merged model: {result.merged}")
    if result.gguf is not None:
        print(f"GGUF: {result.gguf}")
    print(f"Ollama Modelfile: {result.modelfile} (ollama create NAME -f {result.modelfile})")
    return 0


def _default_base_model(data: Path) -> Path:
    from mochi.server.models import ModelStore
    from mochi.server.models.default_model import default_model
    from mochi.server.models.errors import ModelStoreError

    print("mochi trainer: preparing the default base model ...", file=sys.stderr)
    try:
        return default_model(ModelStore(data))
    except ModelStoreError as exc:
        raise CliError(f"{exc}; or pass --base-model DIR") from None


def _client(args: argparse.Namespace) -> HttpTrainingClient:
    from mochi.rag.paths import data_dir
    from mochi.server.trainer_http import HttpTrainingClient

    url = args.url or os.environ.get(URL_ENV) or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    token = args.token or os.environ.get(TOKEN_ENV, "")
    try:
        return HttpTrainingClient(url, token, data_dir=data_dir(args.data_dir))
    except ValueError as exc:
        raise CliError(str(exc)) from None


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`a.b=1` → {"a": {"b": 1}}; a value that is not JSON is kept as text."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise CliError(f"--param {pair!r} must look like key=value")
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        *parents, leaf = key.split(".")
        node = params
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise CliError(f"--param {pair!r}: {part} is already a value")
            node = child
        node[leaf] = value
    return params


def _call(fn: Any, *args: Any) -> Any:
    from mochi.server.trainer_client import TrainerRequestError, TrainerUnavailable

    try:
        return fn(*args)
    except (TrainerUnavailable, TrainerRequestError) as exc:
        raise CliError(str(exc), exit_code=1) from None


def run_submit(args: argparse.Namespace) -> int:
    client = _client(args)
    workspace = args.workspace.expanduser().resolve()
    request = JobRequest(JobKind(args.kind), str(workspace), args.adapter, parse_params(args.param))
    view = _call(client.submit, request)
    print(view.id)
    if not args.wait:
        return 0
    seen = _call(lambda: list(_follow(client, view.id)))
    final = seen[-1] if seen else view
    return 0 if final.state == JobState.SUCCEEDED else 1


def _follow(client: HttpTrainingClient, job_id: str) -> Any:
    for view in client.events(job_id):
        p = view.progress
        line = f"{view.state.value:<9} {p.stage} {p.done}/{p.total} {p.message}".rstrip()
        if left := about_left(p.seconds_left):
            line = f"{line} ({left})"
        print(line, file=sys.stderr)
        if view.state.finished:
            if view.error:
                print(f"error: {view.error}", file=sys.stderr)
            print(json.dumps(view.result, indent=2))
        yield view


def run_jobs(args: argparse.Namespace) -> int:
    views = _call(_client(args).jobs, args.state)
    if args.json:
        print(json.dumps([v.to_json() for v in views], indent=2))
        return 0
    for v in views:
        p = v.progress
        extra = v.error or (f"{p.stage} {p.done}/{p.total}" if p.stage else "")
        if not v.error and (left := about_left(p.seconds_left)):
            extra = f"{extra} ({left})"
        print(f"{v.id}  {v.kind.value:<13} {v.state.value:<9} {v.adapter:<12} {extra}")
    return 0


def run_cancel(args: argparse.Namespace) -> int:
    view = _call(_client(args).cancel, args.id)
    print(f"{view.id} {view.state.value}")
    return 0


def run_adapters(args: argparse.Namespace) -> int:
    views = _call(_client(args).adapters)
    if args.json:
        print(json.dumps([v.to_json() for v in views], indent=2))
        return 0
    for v in views:
        mark = "*" if v.current else " "
        metrics = " ".join(f"{k}={val:.4g}" for k, val in sorted(v.metrics.items()))
        print(f"{mark} {v.name} {v.version}  {v.base_model}  {metrics}  {v.path}")
    return 0


def run_dashboard(args: argparse.Namespace) -> int:
    """The token goes in the address once: the page answers with a session cookie."""
    from urllib.parse import quote

    from mochi.rag.paths import data_dir
    from mochi.server.trainer_http import read_token

    url = args.url or os.environ.get(URL_ENV) or f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
    token = args.token or os.environ.get(TOKEN_ENV, "") or read_token(data_dir(args.data_dir))
    if not token:
        raise CliError("no token: pass --token, set $MOCHI_TRAINER_TOKEN or start the daemon")
    print(f"{url.rstrip('/')}/dashboard?token={quote(token, safe='')}")
    return 0
