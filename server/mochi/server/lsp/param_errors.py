"""What is wrong with a request's params, in the client's terms.

cattrs says where structuring failed (`$.params.text_document.uri`) and lsprotocol's
validators say why (`Position.line should be in range ...`); this turns both into the
field's path as the client spelt it, camelCase, and the problem in plain words
(`position.line: should be in range [0:2147483647], but was -1`). Never a traceback,
nor a Python type or exception name.
"""

from __future__ import annotations

import enum
import re
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs.v import transform_error

# lsprotocol's integer validators: "Position.line should be in range [0:2147483647], ..."
_VALIDATOR = re.compile(r"^\w+\.(?P<field>\w+) (?P<problem>should be .*?)\.?$")
_NAME = re.compile(r"\b[a-z][a-z0-9_]*\b")
_PLAIN = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}


def describe_params_error(exc: BaseException | None, params: Any = None) -> str:
    """One line naming each bad field: `position.line: should be ...; context: missing`."""
    if params is not None and not isinstance(params, dict):  # LSP params are objects
        return "params: expected an object"
    if not isinstance(exc, ClassValidationError | IterableValidationError):
        return "params: invalid value"
    lines = transform_error(exc, path="$", format_exception=_problem)
    return "; ".join(dict.fromkeys(_in_client_terms(line) for line in lines))


def _in_client_terms(line: str) -> str:
    problem, _, path = line.rpartition(" @ ")
    if found := _VALIDATOR.match(problem):
        path, problem = f"{path}.{found['field']}", found["problem"]
    path = path.removeprefix("$.").removeprefix("params.") or "params"
    return f"{_NAME.sub(lambda m: _camel(m.group()), path)}: {problem}"


def _camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.title() for part in rest)


def _problem(exc: BaseException, expected: Any) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, ValueError) and _VALIDATOR.match(str(exc)):
        return str(exc)
    if isinstance(exc, ForbiddenExtraKeysError):
        return f"unknown fields {sorted(exc.extra_fields)}"
    return f"expected {_kind(expected)}" if expected is not None else "invalid value"


def _kind(hint: Any) -> str:
    """The JSON kind a type hint asks for, in words."""
    origin = typing.get_origin(hint)
    if hint in _PLAIN:
        return _PLAIN[hint]
    if attrs.has(hint) or origin in (dict, Mapping):
        return "an object"
    if origin in (list, Sequence, tuple):
        return "an array"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        values = [m.value for m in hint]
        return f"one of {values}" if len(values) <= 12 else "a known value"
    return "a valid value"
