"""`mochi models list|import|pull|default`: the local model store."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from mochi.rag.paths import data_dir
from mochi.server.cli.errors import CliError
from mochi.server.cli.workspace import config_for
from mochi.server.cli.workspace_option import add_workspace_option
from mochi.server.models import (
    ModelEntry,
    ModelStore,
    ModelStoreError,
    default_model,
)


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "models", help="list, import and download the models mochi runs locally"
    )
    add_workspace_option(p, "workspace whose configuration names the data dir")
    actions = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)

    ls = actions.add_parser("list", help="the models in the store")
    ls.set_defaults(run=run_list)

    imp = actions.add_parser("import", help="add a .gguf file (dequantised once) or a HF folder")
    imp.add_argument("source", type=Path, help="FILE.gguf or a folder with config.json")
    imp.add_argument("--name", help="name in the store (default: from the file or folder)")
    imp.add_argument("--replace", action="store_true", help="replace a model of the same name")
    imp.set_defaults(run=run_import)

    pull = actions.add_parser("pull", help="download a model from the Hugging Face hub")
    pull.add_argument("hub_id", help="e.g. HuggingFaceTB/SmolLM2-135M")
    pull.add_argument("--name", help="name in the store (default: the last part of the id)")
    pull.add_argument("--replace", action="store_true", help="replace a model of the same name")
    pull.set_defaults(run=run_pull)

    default = actions.add_parser(
        "default", help="print the default model's folder (imports SmolLM2-135M on first use)"
    )
    default.set_defaults(run=run_default)


def store_for(args: argparse.Namespace) -> ModelStore:
    config = config_for(args.workspace)
    return ModelStore(data_dir(config.data_dir))


def run_list(args: argparse.Namespace) -> int:
    store = store_for(args)
    entries = store.list()
    if not entries:
        print(f"no models in {store.models_dir}; try `mochi models default`")
        return 0
    for entry in entries:
        print(_describe(entry))
    return 0


def run_import(args: argparse.Namespace) -> int:
    store = store_for(args)
    try:
        entry = store.import_model(args.source, args.name, replace=args.replace)
    except ModelStoreError as exc:
        raise CliError(str(exc)) from None
    print(f"imported {_describe(entry)}")
    return 0


def run_pull(args: argparse.Namespace) -> int:
    store = store_for(args)
    try:
        entry = store.pull(args.hub_id, args.name, replace=args.replace)
    except ModelStoreError as exc:
        raise CliError(str(exc)) from None
    print(f"pulled {_describe(entry)}")
    return 0


def run_default(args: argparse.Namespace) -> int:
    store = store_for(args)
    try:
        print(default_model(store))
    except ModelStoreError as exc:
        raise CliError(str(exc)) from None
    return 0


def _describe(entry: ModelEntry) -> str:
    return f"{entry.name}  {entry.size_bytes / 1e6:.0f} MB  {entry.path}  ({entry.source})"
