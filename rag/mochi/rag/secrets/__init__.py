"""Keeps secrets out of the index and the training data: files by name, secrets by
content (token formats, private key blocks, values of secret-like names, passwords in
prose, and the regexes of `[secrets]`), redacted in place."""

from mochi.rag.secrets.filter import SecretFilter, mode_for, secret_filter
from mochi.rag.secrets.findings import REDACTED, Finding, Redaction

__all__ = ["REDACTED", "Finding", "Redaction", "SecretFilter", "mode_for", "secret_filter"]
