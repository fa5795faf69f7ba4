"""Run the daemon: requeue interrupted jobs, start the runner, serve the API with uvicorn."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from mochi.trainer.daemon.config import DaemonConfig
from mochi.trainer.daemon.parts import build_daemon
from mochi.trainer.protocol import token_path

log = logging.getLogger(__name__)


def serve(config: DaemonConfig, *, out: TextIO = sys.stderr) -> None:
    """Blocks until the server is stopped (Ctrl-C / SIGTERM). Running jobs stay RUNNING in
    the queue and resume on the next start."""
    import uvicorn

    from mochi.trainer.api import create_app

    if not config.loopback:
        log.warning(
            "binding the training daemon to %s: it is reachable from other machines "
            "(bearer token required, but traffic is plain HTTP)",
            config.host,
        )
    parts = build_daemon(config)
    requeued = parts.start()
    host = f"[{config.host}]" if ":" in config.host else config.host
    print(f"mochi trainer: serving on http://{host}:{config.port}", file=out)
    print(f"mochi trainer: bearer token in {token_path(config.data_dir)}", file=out)
    if requeued:
        print(f"mochi trainer: resuming {len(requeued)} interrupted job(s)", file=out)
    out.flush()
    try:
        uvicorn.run(
            create_app(parts),
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
        )
    finally:
        parts.stop()
