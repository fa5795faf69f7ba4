"""The daemon's HTTP API (FastAPI): `create_app(parts)` builds it; nothing at module level."""

from mochi.trainer.api.app import create_app

__all__ = ["create_app"]
