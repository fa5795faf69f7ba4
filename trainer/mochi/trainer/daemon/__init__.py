"""The training daemon: configuration, token, composition root and `serve`."""

from mochi.trainer.daemon.config import DaemonConfig
from mochi.trainer.daemon.parts import DaemonParts, build_daemon

__all__ = ["DaemonConfig", "DaemonParts", "build_daemon"]
