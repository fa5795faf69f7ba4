"""`mochi eval`: score completion configurations on lines a repository's later commits add.

The index and any training see the repository as of a cut commit; the tasks are the
worthwhile lines of the commits after it. `metrics` and `bootstrap` are pure and shared
with the trainer's eval gate. The completions come from the language server's own
pipeline, composed by the `mochi eval` command (`Completer`). Nothing heavy is imported
here: torch, transformers and peft load inside `adapter_at_cut` only.
"""

from mochi.trainer.evaluation.bootstrap import (
    Estimate,
    bootstrap_mean,
    bootstrap_paired_difference,
    bootstrap_ratio,
)
from mochi.trainer.evaluation.completer import Completer, ContextSource
from mochi.trainer.evaluation.configurations import (
    BASE,
    CONFIGURATIONS,
    Configuration,
    parse_configurations,
)
from mochi.trainer.evaluation.decoding import DecodingSettings
from mochi.trainer.evaluation.errors import EvalError
from mochi.trainer.evaluation.metrics import (
    LineScores,
    edit_similarity,
    exact_match,
    identifier_match,
    score_line,
)
from mochi.trainer.evaluation.run_spec import RunSpec
from mochi.trainer.evaluation.runner import run_evaluation
from mochi.trainer.evaluation.task_extraction import extract_tasks
from mochi.trainer.evaluation.task_options import TaskOptions
from mochi.trainer.evaluation.tasks import Task

__all__ = [
    "BASE",
    "CONFIGURATIONS",
    "Completer",
    "Configuration",
    "ContextSource",
    "DecodingSettings",
    "Estimate",
    "EvalError",
    "LineScores",
    "RunSpec",
    "Task",
    "TaskOptions",
    "bootstrap_mean",
    "bootstrap_paired_difference",
    "bootstrap_ratio",
    "edit_similarity",
    "exact_match",
    "extract_tasks",
    "identifier_match",
    "parse_configurations",
    "run_evaluation",
    "score_line",
]
