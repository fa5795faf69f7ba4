"""Random LSP params built from lsprotocol's attrs classes (the LSP meta-model in Python).

Mostly well-typed values, so that requests get past the envelope and reach the handlers,
with a share of what buggy clients send: a field missing, null, the wrong type, a
negative or huge number, a lone surrogate. A seeded `random.Random` makes every run the
same.
"""

from __future__ import annotations

import enum
import random
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from lsprotocol import types

JUNK: list[Any] = [None, "", "\ud800", -1, -(2**31) - 1, 2**31, 2**63, 1.5, True, [], {}, "x"]
NUMBERS = [0, 1, 2, 3, 10, 2**31 - 1]  # in range for LSP's (u)integer
BAD_NUMBERS = [-1, 2**31]
STRINGS = ["", "x", "mochi.status", "def ", "\ud800", "\udfff x \ud800", "é" * 3, "a" * 300]


def camel(name: str) -> str:
    head, *rest = name.rstrip("_").split("_")
    return head + "".join(part.title() for part in rest)


class RandomParams:
    """`params(cls)`: a JSON value for an attrs class of lsprotocol, mostly valid.
    `valid()` makes one whose params are all well-formed (odd values only)."""

    @classmethod
    def valid(cls, seed: int, uris: Sequence[str]) -> RandomParams:
        return cls(seed, uris, junk_rate=0, drop_rate=0, bad_scalars=False)

    def __init__(
        self,
        seed: int,
        uris: Sequence[str],
        *,
        junk_rate: float = 0.12,
        drop_rate: float = 0.05,
        bad_scalars: bool = True,
    ) -> None:
        self.rng = random.Random(seed)
        self.uris = list(uris)
        self.junk_rate = junk_rate  # how often a value is replaced by one of JUNK
        self.drop_rate = drop_rate  # how often a field is left out
        self.numbers = NUMBERS + BAD_NUMBERS if bad_scalars else NUMBERS
        self.bad_enums: list[Any] = [999, "bogus"] if bad_scalars else []

    def params(self, cls: type) -> Any:
        if self.rng.random() < self.junk_rate / 3:
            return self.rng.choice([None, [], "params", 7])  # not an object at all
        return self._typed(cls, depth=0)

    def value(self, hint: Any, depth: int) -> Any:
        if self.rng.random() < self.junk_rate:
            return self.rng.choice(JUNK)
        return self._typed(hint, depth)

    def _typed(self, hint: Any, depth: int) -> Any:
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if hint is type(None):
            return None
        if origin is typing.Union:
            return self.value(self.rng.choice(args), depth)
        if origin is typing.Literal:
            return self.rng.choice(args)
        if origin in (list, Sequence, tuple):
            return [self.value(args[0] if args else Any, depth + 1) for _ in self._some(depth)]
        if origin in (dict, Mapping):
            return {self.rng.choice(STRINGS): self.value(Any, depth + 1) for _ in self._some(depth)}
        if attrs.has(hint):
            return self._object(hint, depth)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return self.rng.choice([*(m.value for m in hint), *self.bad_enums])
        if hint is bool:
            return self.rng.random() < 0.5
        if hint is int:
            return self.rng.choice(self.numbers)
        if hint is float:
            return self.rng.choice([0.0, 0.5, -1.0, 1e308])
        if hint is str:
            return self._string()
        return self.rng.choice([None, 1, "any", [1, "two"], {"k": "v"}])  # LSPAny and the like

    def _object(self, cls: type, depth: int) -> dict[str, Any]:
        if depth > 5:
            return {}
        hints = typing.get_type_hints(cls, vars(types))
        fields: dict[str, Any] = {}
        for field in attrs.fields(cls):
            if self.rng.random() < self.drop_rate:
                continue  # a field the client left out (required or not)
            if field.default is not attrs.NOTHING and self.rng.random() < 0.5:
                continue  # optional, and usually absent
            fields[camel(field.name)] = self.value(hints[field.name], depth + 1)
        return fields

    def _string(self) -> str:
        if self.uris and self.rng.random() < 0.4:
            return self.rng.choice(self.uris)
        return self.rng.choice(STRINGS)

    def _some(self, depth: int) -> range:
        return range(self.rng.randint(0, 3 if depth < 4 else 0))
