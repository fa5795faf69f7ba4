"""The errors `mochi eval` reports to the user as one line."""

from __future__ import annotations


class EvalError(Exception):
    """A problem with the request (not a git repository, unknown commit, no tasks...)."""
