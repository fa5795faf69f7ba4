"""`mochi ask "question"`: an answer from the configured LLM, every claim citing
`path:line` (docs/ask.md). The answer goes to stdout, progress to stderr."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from mochi.rag.types import SearchFilters
from mochi.server.ask import (
    AskError,
    AskResult,
    AskSettings,
    ChatModel,
    answer,
    chat_model_for,
    find_sources,
)
from mochi.server.cli.errors import CliError
from mochi.server.cli.workspace import config_for, open_index
from mochi.server.cli.workspace_option import add_workspace_option
from mochi.server.config import MochiConfig
from mochi.server.generation import CancelToken, GenerationError, Generator
from mochi.server.generation.factory import make_generator


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "ask", help="answer a question about the workspace, citing path:line"
    )
    p.add_argument("question", help="what to ask, in words")
    add_workspace_option(p)
    p.add_argument(
        "--llm",
        choices=["local", "openai"],
        default=None,
        help="who answers (default: [ask] llm): local = the model of [model], "
        "openai = the OpenAI-compatible server at [ask] url",
    )
    p.add_argument("--url", default=None, help="the server's URL (overrides [ask] url)")
    p.add_argument("--model", default=None, help="the model it serves (overrides [ask] model)")
    p.add_argument("-k", "--sources", type=int, default=None, help="sources given to the LLM")
    p.add_argument("--glob", default="", help="only sources whose path matches this glob")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB")
    p.add_argument("--no-tests", action="store_true", help="leave out test files")
    p.add_argument("--json", action="store_true", help="print the answer as JSON")
    p.set_defaults(run=run)


def _say(message: str) -> None:
    print(f"mochi: {message}…", file=sys.stderr, flush=True)


def _with_overrides(config: MochiConfig, args: argparse.Namespace) -> MochiConfig:
    changes: dict[str, Any] = {}
    if args.url is not None:
        changes["url"] = args.url
    if args.model is not None:
        changes["model"] = args.model
    if args.sources is not None:
        if args.sources <= 0:
            raise CliError("--sources must be a positive number")
        changes["max_sources"] = args.sources
        changes["candidates"] = max(config.ask.candidates, args.sources)
    if args.llm is not None:
        changes["llm"] = args.llm
    if not changes:
        return config
    try:
        return replace(config, ask=replace(config.ask, **changes))
    except ValueError as exc:  # ConfigError: the override names the key
        raise CliError(f"bad option: {exc}") from None


def _local_model(config: MochiConfig, root: Path) -> Generator | None:
    if config.ask.llm != "local":
        return None
    _say("loading the local model")
    try:
        return make_generator(config, root)
    except (GenerationError, OSError, ValueError) as exc:
        raise CliError(f"the local model did not load: {exc}") from None


def _chat_model(config: MochiConfig, local: Generator | None) -> ChatModel:
    try:
        return chat_model_for(config.ask, local=local)
    except AskError as exc:
        raise CliError(str(exc)) from None


def format_result(result: AskResult) -> str:
    lines = [result.answer or "(the LLM gave an empty answer)", "", "Sources:"]
    for source in result.sources:
        symbol = f" {source.symbol}" if source.symbol else ""
        lines.append(f"  [{source.number}] {source.label}{symbol}")
    cited = sum(1 for c in result.citations if c.how == "cited")
    attributed = len(result.citations) - cited
    lines.append(f"{len(result.claims)} claims; citations: {cited} cited, {attributed} attributed")
    if attributed:
        lines.append(
            "  (attributed: a claim the model left uncited; mochi added the closest source)"
        )
    if result.rejected:
        lines.append(f"  citations outside the sources, taken out: {', '.join(result.rejected)}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    root = args.workspace.resolve()
    config = _with_overrides(config_for(root), args)
    local = _local_model(config, root)  # loaded only for llm = "local"
    try:
        result = _ask(args, root, config, _chat_model(config, local))
    finally:
        if local is not None:
            local.close()
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(format_result(result))
    return 0 if result.answer else 1


def _ask(args: argparse.Namespace, root: Path, config: MochiConfig, chat: ChatModel) -> AskResult:
    filters = SearchFilters(
        path_glob=args.glob, exclude_globs=tuple(args.exclude), exclude_tests=args.no_tests
    )
    settings = AskSettings.from_config(config.ask, filters)
    _say("retrieving sources")
    try:
        with open_index(root) as index:
            if index.status().chunks == 0:
                raise CliError(f"the index of {index.root} is empty: run `mochi index {root}`")
            sources = find_sources(args.question, index.retriever, settings)
        return answer(args.question, sources, chat, settings, CancelToken(), _say)
    except AskError as exc:
        raise CliError(str(exc)) from None
