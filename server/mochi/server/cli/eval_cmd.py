"""`mochi eval REPO --since T`: score completion configurations (base model, + retrieval,
+ a LoRA trained up to T, + both) on the lines the commits after T add.

The tasks complete through the server's own pipeline (`served_completer`). The trainer's
evaluation package is imported inside `run` (it pulls numpy and the trainer's modules);
this module only resolves the model and renders the progress.
"""

from __future__ import annotations

import argparse
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
        default="base,retrieval,lora,retrieval+lora",
        help="comma-separated: base, retrieval, lora, retrieval+lora (base is always scored)",
    )
    p.add_argument("--max-tasks", type=int, default=200, help="most tasks (default 200)")
    p.add_argument("--max-per-commit", type=int, default=10, help="most tasks from one commit")
    p.add_argument("--max-per-file", type=int, default=4, help="most tasks from one file")
    p.add_argument("--languages", default="python", help="comma-separated (default python)")
    p.add_argument("--seed", type=int, default=0, help="seed of sampling, bootstrap, training")
    p.add_argument("--out", type=Path, help="run folder (default ./mochi-eval-<repo>-<since>)")
    p.add_argument("--model", type=Path, help="model folder (default: SmolLM2-135M)")
    p.add_argument("--adapter", type=Path, help="a ready LoRA for the lora configs")
    p.add_argument("--train-steps", type=int, default=100, help="steps of the LoRA at --since")
    p.add_argument("--max-new-tokens", type=int, default=48, help="per completion (default 48)")
    p.add_argument(
        "--no-token-healing",
        action="store_true",
        help="send the prompt as it is (the server's completion.token_healing = false)",
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
            max_new_tokens=args.max_new_tokens, token_healing=not args.no_token_healing
        )
    except (EvalError, ValueError) as exc:
        raise CliError(str(exc)) from None
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
