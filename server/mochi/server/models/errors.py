"""Errors of the model store; each message says what to do."""

from __future__ import annotations


class ModelStoreError(RuntimeError):
    """A model could not be imported, pulled or found."""


class UnknownModelError(ModelStoreError, KeyError):
    """No model of that name in the store; the message lists the ones there are."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelExistsError(ModelStoreError):
    """A model of that name is in the store already."""
