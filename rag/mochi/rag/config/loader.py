"""Build a config dataclass tree from TOML, environment variables and overrides.

Sources, later ones winning: defaults < the user's file
(`$XDG_CONFIG_HOME/mochi/config.toml`, else `~/.config/mochi/config.toml`) < `.mochi.toml`
(or `[tool.mochi]` in `pyproject.toml`) at the workspace root < `MOCHI_<SECTION>__<KEY>`
environment variables < explicit overrides (CLI flags). Keys may be snake_case or camelCase.
An unknown key or a value of the wrong type raises ConfigError naming the key
and what is allowed.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

from mochi.rag.config.errors import ConfigError

T = TypeVar("T")

CONFIG_FILE = ".mochi.toml"
USER_CONFIG_FILE = Path("mochi") / "config.toml"  # under $XDG_CONFIG_HOME (~/.config)
ENV_PREFIX = "MOCHI_"
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def snake_case(key: str) -> str:
    return _CAMEL.sub("_", key).lower()


def build_config(cls: type[T], data: Mapping[str, Any], prefix: str = "") -> T:
    """Instantiate dataclass `cls` from a nested mapping, validating every key."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs: dict[str, Any] = {}
    for raw_key, value in data.items():
        name = snake_case(str(raw_key))
        key = f"{prefix}{name}"
        if name not in fields:
            allowed = ", ".join(sorted(fields))
            raise ConfigError(key, f"unknown key; allowed keys here: {allowed}")
        kwargs[name] = _convert(hints[name], value, key)
    try:
        return cls(**kwargs)
    except TypeError as exc:  # pragma: no cover - defensive, every field has a default
        raise ConfigError(prefix.rstrip("."), str(exc)) from exc


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _convert(tp: Any, value: Any, key: str) -> Any:
    if tp is Any:  # free-form values (e.g. job parameters), validated by whoever reads them
        return value
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, Mapping):
            raise ConfigError(key, f"must be a table of settings, got {value!r}")
        return build_config(tp, value, prefix=f"{key}.")
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise ConfigError(key, f"got {value!r}; allowed values: {choices}")
        return value
    if origin in (typing.Union, types.UnionType):
        for arg in get_args(tp):
            if arg is type(None) and value is None:
                return None
        inner = [a for a in get_args(tp) if a is not type(None)]
        return _convert(inner[0], value, key)
    if origin is dict:
        key_tp, value_tp = get_args(tp)
        if not isinstance(value, Mapping):
            raise ConfigError(key, f"must be a table, got {value!r}")
        return {
            _convert(key_tp, k, key): _convert(value_tp, v, f"{key}.{k}") for k, v in value.items()
        }
    if origin is list:
        (item_tp,) = get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(key, f"must be a list, got {value!r}")
        return [_convert(item_tp, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {value!r}")
        return value
    raise ConfigError(key, f"unsupported setting type {_type_name(tp)}")


def _parse_env_value(tp: Any, text: str, key: str) -> Any:
    """Environment values are strings; read them as the field's type."""
    origin = get_origin(tp)
    if tp is bool:
        lowered = text.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(key, f"must be true or false, got {text!r}")
    if tp is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(key, f"must be an integer, got {text!r}") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(key, f"must be a number, got {text!r}") from None
    if origin is dict:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(key, f"is not a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise ConfigError(key, "must be a JSON object")
        return value
    if origin is list:
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise ConfigError(key, f"is not a JSON list: {exc}") from None
        return [part.strip() for part in stripped.split(",") if part.strip()]
    return text


def env_overrides(cls: type[Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """`MOCHI_EMBEDDING__MODEL=x` -> {"embedding": {"model": "x"}}; unknown names raise."""
    result: dict[str, Any] = {}
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        target_cls: Any = cls
        for depth, part in enumerate(path):
            hints = typing.get_type_hints(target_cls)
            if part not in hints:
                # Other tools' variables may share the prefix (MOCHI_HOME...): only
                # names that start with one of our sections are ours to validate.
                if depth == 0:
                    break
                key = ".".join(path[: depth + 1])
                raise ConfigError(f"{name} ({key})", "unknown setting")
            tp = hints[part]
            if depth == len(path) - 1:
                if dataclasses.is_dataclass(tp):
                    raise ConfigError(name, "names a section, not a setting")
                node = result
                for p in path[:-1]:
                    node = node.setdefault(p, {})
                node[part] = _parse_env_value(tp, text, name)
            elif dataclasses.is_dataclass(tp):
                target_cls = tp
            else:
                raise ConfigError(name, f"'{part}' is a setting, not a section")
    return result


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def normalise_keys(cls: type[Any], data: Mapping[str, Any]) -> dict[str, Any]:
    """camelCase -> snake_case for the keys that name settings (not inside dict values)."""
    hints = typing.get_type_hints(cls)
    result: dict[str, Any] = {}
    for raw_key, value in data.items():
        name = snake_case(str(raw_key))
        tp = hints.get(name)
        if tp is not None and dataclasses.is_dataclass(tp) and isinstance(value, Mapping):
            value = normalise_keys(tp, value)  # type: ignore[arg-type]
        result[name if tp is not None else str(raw_key)] = value
    return result


def read_workspace_file(root: Path) -> tuple[dict[str, Any], Path | None]:
    """The raw settings of `.mochi.toml`, else `[tool.mochi]` of pyproject.toml."""
    dedicated = root / CONFIG_FILE
    if dedicated.is_file():
        return _read_toml(dedicated), dedicated
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("mochi")
        if isinstance(section, dict):
            return section, pyproject
    return {}, None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"is not valid TOML: {exc}") from None


def user_config_file(environ: Mapping[str, str]) -> Path | None:
    """`$XDG_CONFIG_HOME/mochi/config.toml`, else `$HOME/.config/mochi/config.toml`; None
    when `environ` names neither (a caller that passes no environment reads no user file)."""
    base = environ.get("XDG_CONFIG_HOME") or (
        str(Path(environ["HOME"]) / ".config") if environ.get("HOME") else ""
    )
    return Path(base).expanduser() / USER_CONFIG_FILE if base else None


def read_user_settings(cls: type[Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """The user-wide settings (every workspace's defaults), checked on their own so that a
    mistake in them is reported with their file's path."""
    path = user_config_file(environ)
    if path is None or not path.is_file():
        return {}
    try:
        settings = normalise_keys(cls, _read_toml(path))
        build_config(cls, settings)
    except ConfigError as exc:
        raise _located(exc, path) from None
    return settings


def _located(exc: ConfigError, origin: Path) -> ConfigError:
    if str(origin) in exc.args[0]:
        return exc
    return ConfigError(exc.key, f"{exc.args[0].split(': ', 1)[-1]} (in {origin})")


def load_workspace_config(
    cls: type[T],
    root: Path,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> T:
    raw, origin = read_workspace_file(root)
    merged = deep_merge(read_user_settings(cls, environ or {}), normalise_keys(cls, raw))
    if environ:
        merged = deep_merge(merged, env_overrides(cls, environ))
    if overrides:
        merged = deep_merge(merged, normalise_keys(cls, overrides))
    try:
        return build_config(cls, merged)
    except ConfigError as exc:
        if origin is not None:
            raise _located(exc, origin) from None
        raise
