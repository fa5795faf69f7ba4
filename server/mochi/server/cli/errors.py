from __future__ import annotations


class CliError(Exception):
    """An error the CLI reports as one line on stderr, with an exit code."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
