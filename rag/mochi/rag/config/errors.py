from __future__ import annotations


class ConfigError(ValueError):
    """A configuration key or value is wrong; the message names the key and what is allowed."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}" if key else message)
        self.key = key
