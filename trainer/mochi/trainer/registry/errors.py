"""Registry errors; the messages name the adapter, version and models involved."""

from __future__ import annotations


class RegistryError(RuntimeError):
    """The registry could not do what was asked."""


class UnknownAdapter(RegistryError, KeyError):
    """No such adapter (or version) in the registry."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown adapter"


class BaseModelMismatch(RegistryError):
    """An adapter was trained on another base model than the one it is used with."""
