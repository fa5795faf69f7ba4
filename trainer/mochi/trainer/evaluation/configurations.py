"""The configurations scored on the same tasks: the base model, with retrieval, with the
LoRA trained up to the cut, and with both."""

from __future__ import annotations

from dataclasses import dataclass

from mochi.trainer.evaluation.errors import EvalError


@dataclass(frozen=True, slots=True)
class Configuration:
    name: str
    retrieval: bool  # cross-file snippets from the index at the cut
    lora: bool  # the adapter trained on the history up to the cut


BASE = Configuration("base", retrieval=False, lora=False)
CONFIGURATIONS: dict[str, Configuration] = {
    c.name: c
    for c in (
        BASE,
        Configuration("retrieval", retrieval=True, lora=False),
        Configuration("lora", retrieval=False, lora=True),
        Configuration("retrieval+lora", retrieval=True, lora=True),
    )
}


def parse_configurations(text: str) -> tuple[Configuration, ...]:
    """`base,retrieval,...` in the canonical order; `base` is always scored (the pairing)."""
    names = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(names - CONFIGURATIONS.keys())
    if unknown:
        raise EvalError(
            f"unknown configuration(s) {', '.join(unknown)}; known: {', '.join(CONFIGURATIONS)}"
        )
    names.add(BASE.name)
    return tuple(c for name, c in CONFIGURATIONS.items() if name in names)
