"""Run the daemon: requeue interrupted jobs, start the runner, serve the API with uvicorn."""

from __future__ import annotations

import gc
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from mochi.trainer.daemon.config import DaemonConfig
from mochi.trainer.daemon.parts import DaemonParts, build_daemon
from mochi.trainer.jobs.private import PRIVATE_UMASK
from mochi.trainer.protocol import token_path

if TYPE_CHECKING:
    from mochi.trainer.jobs.future_gate import VersionCompleters

log = logging.getLogger(__name__)


def serve(
    config: DaemonConfig,
    *,
    out: TextIO = sys.stderr,
    completers: VersionCompleters | None = None,
) -> None:
    """Blocks until SIGTERM or SIGINT. Then running jobs stop at their next step (training
    writes a checkpoint there) and go back to the queue, to resume on the next start; it
    waits at most `config.shutdown_timeout_seconds` for them (a second signal: not at all).
    Sets the process umask to 0o077: what the daemon writes is its user's alone."""
    import uvicorn

    from mochi.trainer.api import create_app
    from mochi.trainer.daemon.shutdown import HTTP_GRACE_SECONDS, DaemonServer, ShutdownSignals

    os.umask(PRIVATE_UMASK)
    if not config.loopback:
        log.warning(
            "binding the training daemon to %s: it is reachable from other machines "
            "(bearer token required, but traffic is plain HTTP)",
            config.host,
        )
    parts = build_daemon(config, completers=completers)
    server = DaemonServer(
        uvicorn.Config(
            create_app(parts),
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=HTTP_GRACE_SECONDS,
        ),
        on_signal=parts.runner.request_stop,
    )
    with ShutdownSignals(server.request_exit) as signals:
        requeued = parts.start()
        host = f"[{config.host}]" if ":" in config.host else config.host
        print(f"mochi trainer: serving on http://{host}:{config.port}", file=out)
        print(f"mochi trainer: bearer token in {token_path(config.data_dir)}", file=out)
        print(
            f"mochi trainer: dashboard at http://{host}:{config.port}/dashboard "
            "(`mochi trainer dashboard` prints it with the token)",
            file=out,
        )
        if requeued:
            print(f"mochi trainer: resuming {len(requeued)} interrupted job(s)", file=out)
        out.flush()
        try:
            server.run()
        finally:
            _stop(parts, config.shutdown_timeout_seconds, lambda: signals.forced, out)
            # The interpreter's last collection would walk every object torch and
            # transformers made (seconds); what is left needs no finalizer.
            gc.freeze()


def _stop(parts: DaemonParts, timeout: float, give_up: Callable[[], bool], out: TextIO) -> None:
    running = parts.runner.running()
    if running:
        print(f"mochi trainer: stopping {len(running)} job(s) at their next step", file=out)
        out.flush()
    left = parts.stop(timeout, give_up=give_up)
    for job_id in left:
        print(
            f"mochi trainer: job {job_id} did not stop within {timeout:g} s; it resumes from "
            "its last checkpoint on the next start",
            file=out,
        )
    if running:
        print(f"mochi trainer: {len(running) - len(left)} job(s) back in the queue", file=out)
