"""What can go wrong when opening or using a vector store."""

from __future__ import annotations

from pathlib import Path

REBUILD_HINT = "re-index with `mochi index --rebuild`"


class StoreError(Exception):
    """Base of every vector-store failure."""


class StoreSchemaError(StoreError):
    """The stored collection does not match the schema the configuration asks for."""

    def __init__(self, location: str, found: str, expected: str) -> None:
        super().__init__(
            f"{location}: the index holds {found}, but the configuration needs {expected}; "
            f"{REBUILD_HINT}"
        )
        self.location = location
        self.found = found
        self.expected = expected

    @classmethod
    def dense_dim(cls, location: str, stored_dim: int | None, wanted_dim: int) -> StoreSchemaError:
        """The usual case: the embedding model (and so its dimension) changed."""
        stored = "an unknown dimension" if stored_dim is None else f"dimension {stored_dim}"
        return cls(location, f"dense vectors of {stored}", f"dimension {wanted_dim}")


class StoreLockedError(StoreError):
    """Another process (or another store object) has this on-disk index open."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"another process holds the index at {path}; close it (or stop the other "
            "mochi server) and try again, or point this one at a different index path"
        )
        self.path = path


class StoreUnavailableError(StoreError):
    """A remote store cannot be reached or refused the request."""

    def __init__(self, url: str, cause: BaseException) -> None:
        super().__init__(
            f"cannot reach the Qdrant server at {url}: {type(cause).__name__}: {cause} "
            "(is it running, and are the url and api key right?)"
        )
        self.url = url
        self.cause = cause
