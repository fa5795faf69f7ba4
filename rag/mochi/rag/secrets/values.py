"""Is a candidate value a secret, or a placeholder, a reference or an ordinary word?

What keeps false positives down on real code: a value assigned to a secret-like name
counts only when it is a literal that could be a credential, not `os.environ[...]`,
`"changeme"`, `"<your-key>"`, `${VAR}` or a type name.
"""

from __future__ import annotations

import math
import re
from collections import Counter

# Whole values (lower case) that stand for "no secret here".
PLACEHOLDERS = frozenset(
    {
        "changeme", "change-me", "change_me", "changeit", "password", "passwd", "passphrase",
        "secret", "secrets", "token", "apikey", "api_key", "api-key", "key", "auth", "none",
        "null", "nil", "undefined", "true", "false", "yes", "no", "on", "off", "required",
        "optional", "string", "str", "bytes", "int", "bool", "boolean", "number", "text",
        "example", "sample", "dummy", "placeholder", "redacted", "hidden", "masked", "todo",
        "tbd", "fixme", "default", "value", "empty", "unset", "notset", "not-set", "secret_key",
        "secretkey", "access_token", "bearer", "basic", "any", "object", "optional[str]",
        "str | none", "sensitive", "mysecretpassword", "supersecret", "letmein", "admin",
        "root", "postgres", "guest", "user", "username", "test", "testing", "local",
    }
)  # fmt: skip

# Parts of a value that mark it as a template, an example or a mask.
_PLACEHOLDER_PARTS = (
    "your", "example", "placeholder", "changeme", "change_me", "change-me", "replace",
    "insert", "redacted", "xxxx", "****", "....", "...", "\u00ab", "<", ">", "${", "{{",
    "}}", "$(", "%(", "#{", "{", "}", "\\(",
)  # fmt: skip

_ENV_NAME = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")  # API_TOKEN: a name, not a value
_SNAKE_WORDS = re.compile(r"[a-z]+(?:_[a-z]+)+")  # access_token: a name
_YAML_TAG = re.compile(r"![A-Za-z_]+")  # !secret db_pass, !vault
_MARKED_NAME = re.compile(r"%\w+%|@\w+@|[&*][\w-]+|%[-+# 0-9.]*[a-zA-Z]")  # %VAR% @VAR@ &anchor %s
_DOTTED = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")  # self.token, os.environ
_IDENTIFIER = re.compile(
    r"[A-Za-z_]\w*_\w*|[a-z]+[A-Z]\w*|(?:[A-Z][a-z]+){2,}"
)  # snake, camel, Pascal
_PARTS = re.compile(r"[-_.:/ +]+")
_SYMBOL = re.compile(r"[^A-Za-z0-9\s_.-]")


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def is_placeholder(value: str) -> bool:
    """Empty, a mask, a template, an example, a name or a word that stands in for a secret."""
    low = value.lower()
    if len(set(low)) < 3 or low in PLACEHOLDERS:
        return True
    if any(part in low for part in _PLACEHOLDER_PARTS):
        return True
    if value[0] == "$" or _YAML_TAG.fullmatch(value) or _MARKED_NAME.fullmatch(value):
        return True  # $VAR, %VAR%, @VAR@, YAML anchors, aliases and tags, format specs
    return bool(_ENV_NAME.fullmatch(value) or _SNAKE_WORDS.fullmatch(value))


def is_reference(value: str) -> bool:
    """An unquoted value that is an expression, a path or a URL rather than a literal."""
    if any(c in value for c in "()[]"):
        return True
    if value.startswith(("/", "./", "../", "~/", "file:")) or "://" in value:
        return True
    return bool(_DOTTED.fullmatch(value))


def is_wordy(value: str) -> bool:
    """Made of whole words and numbers (`text-embedding-3-small`), not random characters."""
    parts = [p for p in _PARTS.split(value) if p]
    return all(p.isalpha() or p.isdigit() for p in parts)


def looks_random(value: str) -> bool:
    """A token-like value: long, no spaces, letters and digits, high entropy, not words."""
    if len(value) < 16 or any(c.isspace() for c in value) or is_placeholder(value):
        return False
    if value.startswith(("/", "./", "../", "~/")) or "://" in value:
        return False
    has_letter = any(c.isalpha() for c in value)
    has_digit = any(c.isdigit() for c in value)
    return has_letter and has_digit and entropy(value) >= 3.0 and not is_wordy(value)


def looks_like_password(value: str, *, prose: bool) -> bool:
    """A value given to a password-like name. In prose it must have a digit or a symbol
    (so `password: required` is a word, not a password)."""
    if len(value) < 6 or any(c.isspace() for c in value) or is_placeholder(value):
        return False
    if value.startswith(("/", "./", "../", "~/")) or "://" in value:
        return False
    if not prose:
        return True
    if _IDENTIFIER.fullmatch(value):
        return False  # parse_config2, userName: identifiers in a sentence
    has_mark = any(c.isdigit() for c in value) or bool(_SYMBOL.search(value))
    return has_mark or (len(value) >= 20 and entropy(value) >= 4.0)


def is_template(value: str) -> bool:
    """A variable, a template or a mask where a secret would go (`${DB_PASS}`, `****`)."""
    if not value or len(set(value.lower()) - {"*", "x", ".", "-"}) == 0:
        return True
    return value[0] == "$" or any(part in value for part in ("{", "}", "<", ">", "%(", "\u00ab"))
