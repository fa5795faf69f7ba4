"""`run_evaluation`: tasks, then every (configuration, task) not yet done, then the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from mochi.trainer.evaluation.completer import Completer
from mochi.trainer.evaluation.report import build_report, write_report
from mochi.trainer.evaluation.results import Result, ResultLog, read_results
from mochi.trainer.evaluation.run_spec import RunSpec
from mochi.trainer.evaluation.run_state import RESULTS_FILE, PreparedRun, prepare_run

ProgressFn = Callable[[str, int, int], None]  # (stage, done, total)
CompleterFactory = Callable[[RunSpec, PreparedRun], AbstractContextManager[Completer]]


def run_evaluation(
    spec: RunSpec,
    open_completer: CompleterFactory,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Score `spec.configs` on the run's tasks and write the report; returns it.

    Results already in `results.jsonl` are kept, so an interrupted run resumes; the
    completer (model, index, adapter) is opened only when something is left to do.
    """
    run = prepare_run(spec)
    path = spec.out / RESULTS_FILE
    done = read_results(path)
    pending = [(c, t) for t in run.tasks for c in spec.configs if (c.name, t.id) not in done]
    total = len(run.tasks) * len(spec.configs)
    finished = total - len(pending)
    if progress is not None:
        progress("completing", finished, total)
    if pending:
        with open_completer(spec, run) as completer, ResultLog(path) as log:
            for config, task in pending:
                started = time.perf_counter()
                prediction = completer.complete(task, config)
                seconds = round(time.perf_counter() - started, 4)
                result = Result(config.name, task.id, prediction, seconds)
                log.add(result)
                done[(config.name, task.id)] = result
                finished += 1
                if progress is not None:
                    progress("completing", finished, total)
    report = build_report(spec, run, done)
    write_report(report, spec.out)
    return report
