"""The configurations scored on the same tasks: the base model, with retrieval (the index
at the cut), with the LoRA trained up to the cut, with the token memory of the repository
at the cut, and their combinations."""

from __future__ import annotations

from dataclasses import dataclass

from mochi.trainer.evaluation.errors import EvalError


@dataclass(frozen=True, slots=True)
class Configuration:
    name: str
    retrieval: bool  # cross-file snippets from the index at the cut
    lora: bool  # the adapter trained on the history up to the cut
    memory: bool = False  # the token memory (kNN-LM) of the repository at the cut


BASE = Configuration("base", retrieval=False, lora=False)
CONFIGURATIONS: dict[str, Configuration] = {
    c.name: c
    for c in (
        BASE,
        Configuration("retrieval", retrieval=True, lora=False),
        Configuration("lora", retrieval=False, lora=True),
        Configuration("memory", retrieval=False, lora=False, memory=True),
        Configuration("retrieval+lora", retrieval=True, lora=True),
        Configuration("retrieval+memory", retrieval=True, lora=False, memory=True),
        Configuration("lora+memory", retrieval=False, lora=True, memory=True),
        Configuration("retrieval+lora+memory", retrieval=True, lora=True, memory=True),
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
