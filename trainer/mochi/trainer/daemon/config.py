"""The daemon's configuration: a validated dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mochi.trainer.protocol import DEFAULT_HOST, DEFAULT_PORT

MAX_BODY_BYTES = 1024 * 1024  # job requests are a few hundred bytes of JSON
BODY_TIMEOUT_SECONDS = 10.0
SHUTDOWN_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class DaemonConfig:
    data_dir: Path = field(metadata={"help": "mochi data dir (token, queue, jobs, adapters)"})
    host: str = field(default=DEFAULT_HOST, metadata={"help": "address to bind"})
    port: int = field(default=DEFAULT_PORT, metadata={"help": "TCP port (0 = any free one)"})
    base_model: Path | None = field(
        default=None, metadata={"help": "default base model folder for jobs that name none"}
    )
    max_jobs_per_device: int = field(default=1, metadata={"help": "concurrent jobs per device"})
    devices: tuple[str, ...] | None = field(
        default=None, metadata={"help": "'cpu' / 'cuda:N' to use; None = detect"}
    )
    poll_seconds: float = field(default=0.2, metadata={"help": "queue and SSE poll interval"})
    max_body_bytes: int = field(
        default=MAX_BODY_BYTES,
        metadata={"help": "largest request body read; a larger one is answered 413"},
    )
    body_timeout_seconds: float = field(
        default=BODY_TIMEOUT_SECONDS,
        metadata={"help": "time a request's body has to arrive; then it is answered 408"},
    )
    shutdown_timeout_seconds: float = field(
        default=SHUTDOWN_TIMEOUT_SECONDS,
        metadata={"help": "on SIGTERM/SIGINT, how long to wait for running jobs to stop"},
    )

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, not {self.port}")
        if self.max_jobs_per_device < 1:
            raise ValueError(
                f"max_jobs_per_device must be at least 1, not {self.max_jobs_per_device}"
            )
        if self.poll_seconds <= 0:
            raise ValueError(f"poll_seconds must be positive, not {self.poll_seconds}")
        if self.max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, not {self.max_body_bytes}")
        for name in ("body_timeout_seconds", "shutdown_timeout_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")
        if self.base_model is not None and not (self.base_model / "config.json").is_file():
            raise ValueError(f"base_model {self.base_model} is not a model folder (no config.json)")

    @property
    def trainer_dir(self) -> Path:
        return self.data_dir / "trainer"

    @property
    def queue_path(self) -> Path:
        return self.trainer_dir / "jobs.sqlite3"

    @property
    def jobs_dir(self) -> Path:
        return self.trainer_dir / "jobs"

    @property
    def adapters_dir(self) -> Path:
        return self.data_dir / "adapters"

    @property
    def loopback(self) -> bool:
        return self.host in ("127.0.0.1", "localhost", "::1")
