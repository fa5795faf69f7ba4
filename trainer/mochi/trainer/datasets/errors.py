"""Why a dataset could not be built or read."""

from __future__ import annotations


class DatasetError(Exception):
    """A dataset cannot be built or loaded; the message says why and what to check."""


class DatasetCancelled(DatasetError):
    """`should_cancel` asked the build to stop; nothing was returned."""
