"""File names as text.

A name that is not valid UTF-8 reaches Python surrogate-escaped (`os.fsdecode`, and
GitPython the same way): b"caf\\xe9.py" is "caf\\udce9.py". Such a string opens the right
file but cannot be encoded for SQLite, JSON payloads or hashes. Keys keep the escaped
form; each place that stores or shows a name goes through one of these.
"""

from __future__ import annotations


def name_bytes(name: str) -> bytes:
    """The bytes a name stands for (its UTF-8 for any valid name): for ids and hashes."""
    return name.encode("utf-8", "surrogateescape")


def from_name_bytes(raw: bytes) -> str:
    """The inverse of `name_bytes`."""
    return raw.decode("utf-8", "surrogateescape")


def is_valid_text(name: str) -> bool:
    """Whether `name` holds no escaped byte (it encodes as UTF-8)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def display_name(name: str) -> str:
    """The name as valid text for payloads, reports and prompts: an undecodable byte
    shows as U+FFFD. Many names may show alike, so this is for reading, not for keys."""
    return name if is_valid_text(name) else name_bytes(name).decode("utf-8", "replace")
