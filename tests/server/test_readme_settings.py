"""The README's configuration block names every setting there is, under its section:
a newcomer reads the settings there, and a new one must not stay undocumented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

from mochi.server.config import MochiConfig

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_settings() -> dict[str, set[str]]:
    """Section ("" = top level) → the keys the README's `# .mochi.toml` block shows,
    commented-out examples included (`# url = ...`)."""
    text = README.read_text(encoding="utf-8")
    block = text.split("```toml\n# .mochi.toml\n", 1)[1].split("```", 1)[0]
    found: dict[str, set[str]] = {"": set()}
    section = ""
    for line in block.splitlines():
        if header := re.match(r"\[([a-z_.]+)\]", line):
            section = header.group(1)
            found.setdefault(section, set())
            parent, _, table = section.rpartition(".")  # [model.adapters]: a table setting
            if parent:
                found.setdefault(parent, set()).add(table)
        elif key := re.match(r"#?\s*([a-z_]+) = ", line):
            found[section].add(key.group(1))
    return found


def settings(config: Any, section: str = "") -> dict[str, set[str]]:
    """Section → the keys of that section's dataclass (nested dataclasses are sections)."""
    out: dict[str, set[str]] = {section: set()}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out.update(settings(value, f"{section}.{f.name}".lstrip(".")))
        else:
            out[section].add(f.name)
    return out


def test_every_setting_is_in_the_readme() -> None:
    shown = readme_settings()
    missing = {
        f"[{section}] {key}" if section else key
        for section, keys in settings(MochiConfig()).items()
        for key in keys - shown.get(section, set())
    } | {f"[{section}]" for section in settings(MochiConfig()) if section not in shown}
    assert not missing, f"settings the README's configuration block does not name: {missing}"


def test_the_readme_names_no_setting_that_does_not_exist() -> None:
    real = settings(MochiConfig())
    unknown = {
        f"[{section}] {key}"
        for section, keys in readme_settings().items()
        for key in keys - real.get(section, set())
        if section != "model.adapters"  # its keys are the user's adapter names
    }
    assert not unknown, f"the README shows settings mochi does not have: {unknown}"
