"""`mochi eval REPO --since T`: score completion configurations (base model, + retrieval,
+ a LoRA trained up to T, + both) on the lines the commits after T add.

The tasks complete through the server's own pipeline (`served_completer`). The trainer's
evaluation package is imported inside `run` (it pulls numpy and the trainer's modules);
this module only resolves the model and renders the progress.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from mochi.server.cli.errors import CliError


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "eval",
        help="score completions on a repository's later commits (base, retrieval, LoRA)",
        description=(
            "The index and any training see the repository as of --since; the tasks are "
            "the worthwhile lines of the commits after it. Writes report.json, report.md "
            "and report.png to --out; a rerun with the same --out resumes."
        ),
    )
    p.add_argument("repo", type=Path, help="a git repository")
    p.add_argument("--since", required=True, help="the cut: the commit index and LoRA see")
    p.add_argument("--until", default="HEAD", help="the last commit tasks come from")
    p.add_argument(
        "--configs",
        default="base,retrieval,lora,memory,retrieval+lora",
        help="comma-separated: base, retrieval, lora, memory and their combinations with +, "
        "e.g. retrieval+lora+memory (base is always scored)",
    )
    p.add_argument("--max-tasks", type=int, default=200, help="most tasks (default 200)")
    p.add_argument("--max-per-commit", type=int, default=10, help="most tasks from one commit")
    p.add_argument("--max-per-file", type=int, default=4, help="most tasks from one file")
    p.add_argument("--languages", default="python", help="comma-separated (default python)")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling, bootstrap, training")
    p.add_argument("--out", type=Path, help="run folder (default ./mochi-eval-<repo>-<since>)")
    p.add_argument("--model", type=Path, help="model folder (default: SmolLM2-135M)")
    p.add_argument("--adapter", type=Path, help="a ready LoRA for the lora configs")
    p.add_argument(
        "--train-steps",
        type=int,
        help="steps of the LoRA at --since (default: one pass over the repository)",
    )
    p.add_argument("--max-new-tokens", type=int, default=48, help="per completion (default 48)")
    p.add_argument(
        "--no-token-healing",
        action="store_true",
        help="send the prompt as it is (the server's completion.token_healing = false)",
    )
    p.add_argument(
        "--train-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a training parameter over mochi's recipe, e.g. learning_rate=1e-3 (repeatable)",
    )
    p.add_argument(
        "--dataset-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a dataset parameter over the recipe, e.g. file_window_lines=0 (repeatable)",
    )
    p.add_argument(
        "--memory-weight", type=float, default=0.5, help="λ of the token memory (default 0.5)"
    )
    p.add_argument(
        "--memory-neighbours", type=int, default=32, help="k of the token memory (default 32)"
    )
    p.add_argument(
        "--memory-temperature",
        type=float,
        default=10.0,
        help="softmax temperature of the token memory (default 10)",
    )
    p.add_argument(
        "--memory-adaptive",
        action="store_true",
        help="scale λ at each step by the memory's top vote v against the model's top "
        "probability p: λ·v/(v+p)",
    )
    p.add_argument(
        "--memory-per-adapter",
        action="store_true",
        help="lora+memory configurations query a memory of the LoRA model's own states",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def _default_model() -> Path:
    from mochi.rag.paths import data_dir
    from mochi.server.models import ModelStore, ModelStoreError, default_model

    try:
        return default_model(ModelStore(data_dir()))
    except ModelStoreError as exc:
        raise CliError(str(exc)) from None


def _key_values(pairs: list[str], flag: str) -> dict[str, Any]:
    """KEY=VALUE pairs, each value read as JSON when it parses (1e-3, true, 40) and as
    a string otherwise."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"{flag} takes KEY=VALUE, not {pair!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except ValueError:
            out[key.strip()] = raw
    return out


def _check_recipe(train: dict[str, Any], dataset: dict[str, Any]) -> None:
    """Bad --train-param / --dataset-param values fail now, not after the index is built."""
    from mochi.trainer.datasets.spec import DatasetSpec
    from mochi.trainer.training.params import TrainParams
    from mochi.trainer.training.recipe import with_recipe

    merged_dataset, merged_train = with_recipe(dataset, train)
    try:
        TrainParams.from_dict(merged_train)
    except (ValueError, TypeError) as exc:
        raise CliError(f"--train-param: {exc}") from None
    try:
        DatasetSpec(**merged_dataset)
    except (ValueError, TypeError) as exc:
        raise CliError(f"--dataset-param: {exc}") from None


def run(args: argparse.Namespace) -> int:
    from mochi.rag.types import Progress
    from mochi.server.cli.progress_bar import ProgressBar
    from mochi.server.cli.served_completer import open_served_completer
    from mochi.trainer.evaluation import (
        DecodingSettings,
        EvalError,
        RunSpec,
        TaskOptions,
        parse_configurations,
        run_evaluation,
    )
    from mochi.trainer.evaluation.git_history import require_repository, resolve_commit
    from mochi.trainer.evaluation.report_markdown import subset_table

    try:
        configs = parse_configurations(args.configs)
        options = TaskOptions(
            max_tasks=args.max_tasks,
            max_per_commit=args.max_per_commit,
            max_per_file=args.max_per_file,
            languages=tuple(x.strip() for x in args.languages.split(",") if x.strip()),
            seed=args.seed,
        )
        decoding = DecodingSettings(
            max_new_tokens=args.max_new_tokens,
            token_healing=not args.no_token_healing,
            memory_weight=args.memory_weight,
            memory_neighbours=args.memory_neighbours,
            memory_temperature=args.memory_temperature,
            memory_adaptive=args.memory_adaptive,
            memory_per_adapter=args.memory_per_adapter,
        )
    except (EvalError, ValueError) as exc:
        raise CliError(str(exc)) from None
    train_params = _key_values(args.train_param, "--train-param")
    dataset_params = _key_values(args.dataset_param, "--dataset-param")
    _check_recipe(train_params, dataset_params)
    if args.adapter is not None and not (args.adapter / "adapter_config.json").is_file():
        raise CliError(f"{args.adapter} is not a LoRA adapter folder (no adapter_config.json)")
    if args.model is not None and not (args.model / "config.json").is_file():
        raise CliError(f"{args.model} is not a model folder (no config.json)")
    try:  # the cheap checks first: a wrong repository or commit fails before any model loads
        repo = require_repository(args.repo.expanduser().resolve())
        for rev in (args.since, args.until):
            resolve_commit(repo, rev)
    except EvalError as exc:
        raise CliError(str(exc)) from None
    out = args.out or Path.cwd() / f"mochi-eval-{repo.name}-{args.since.replace('/', '_')[:12]}"
    try:
        spec = RunSpec(
            repo=repo,
            since=args.since,
            until=args.until,
            out=out.expanduser().resolve(),
            model_dir=(args.model or _default_model()).expanduser().resolve(),
            configs=configs,
            tasks=options,
            decoding=decoding,
            adapter_dir=args.adapter.expanduser().resolve() if args.adapter else None,
            train_steps=args.train_steps,
            train_params=train_params,
            dataset_params=dataset_params,
            command=shlex.join(["mochi", *sys.argv[1:]]),
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    with ProgressBar(enabled=not args.quiet and sys.stderr.isatty()) as bar:

        def progress(stage: str, done: int, total: int) -> None:
            bar(Progress(stage, done, total))

        try:
            report = run_evaluation(
                spec,
                lambda s, r: open_served_completer(s, r, progress=progress),
                progress=progress,
            )
        except EvalError as exc:
            raise CliError(str(exc)) from None
    counts = report["all"]["n"], report["api"]["n"], report["run"]["commits"]
    print("{} tasks ({} in the API subset) from {} commits".format(*counts))
    print(subset_table(report["all"]))
    print(f"report: {spec.out / 'report.md'}")
    return 0
