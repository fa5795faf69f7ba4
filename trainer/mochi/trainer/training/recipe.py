"""The default way mochi learns a repository: the recipe that won the ablation of
docs/benchmarks/eval.md (SmolLM2-135M, next lines of later commits, through the served
pipeline). `mochi.train`, the commit hook (continual jobs) and `mochi eval` start from
it; a job's own `dataset` and `train` params override any of its keys.

Measured there: the files of the repository as plain text, loss on every token, one pass
sized to the repository's token count, beat fill-in-the-middle samples of single units
and a fixed number of steps (which, at the old 60 steps, was a sixth of an epoch and
lowered edit similarity).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RECIPE_DATASET: dict[str, Any] = {
    "file_window_lines": 40,  # every code file as plain text, 40 lines a sample
    "samples_per_unit": 0,  # no FIM samples of single units
    "docstring_pairs": False,
    "commit_pairs": False,
}
RECIPE_TRAIN: dict[str, Any] = {
    "epochs": 1.0,  # one pass over the repository, however large
    "learning_rate": 5e-4,
}


def with_recipe(
    dataset: Mapping[str, Any], train: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The recipe under the given params (theirs win). A run given `max_steps` keeps it:
    the recipe's `epochs` would override it, so it is left out then."""
    recipe_train = dict(RECIPE_TRAIN)
    if "max_steps" in train:
        recipe_train.pop("epochs")
    return {**RECIPE_DATASET, **dataset}, {**recipe_train, **train}
