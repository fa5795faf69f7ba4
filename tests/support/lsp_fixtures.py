"""A fixture repository and the server command for end-to-end LSP tests."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from git_repo import GitRepo
from lsprotocol import types
from pytest_lsp import LanguageClient

SERVER_COMMAND = [sys.executable, "-m", "mochi.server.cli.main", "serve"]
# What completions run on by default (backend = "auto"): llama.cpp where it is installed.
DEFAULT_BACKEND = "llama.cpp" if importlib.util.find_spec("llama_cpp") else "transformers"

REGISTRY_PY = '''"""Shape registry."""

_FACTORIES = {}


def register_shape_factory(name, factory):
    """Register a factory that builds the shape called `name`."""
    _FACTORIES[name] = factory


def build_shape(name, *args):
    """Build a registered shape."""
    return _FACTORIES[name](*args)
'''

MAIN_PY = """import geometry.registry as registry


def add(a, b):
    return a + b


def area_of_square(side):
    return side * side


def make():
    shape = registry.build_shape("circle", 2)
    return shape
"""


def build_repo(root: Path, main_py: str = MAIN_PY) -> GitRepo:
    repo = GitRepo.create(root)
    repo.write("geometry/__init__.py", "")
    repo.write("geometry/registry.py", REGISTRY_PY)
    repo.write("app/main.py", main_py)
    repo.write("README.md", "# Shapes\n\nRegister shape factories, then build shapes.\n")
    repo.commit("Add the shape registry")
    return repo


async def wait_until_indexed(client: LanguageClient, timeout: float = 180) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for reports in client.progress_reports.values():
            if any(isinstance(r, types.WorkDoneProgressEnd) for r in reports):
                return
        await asyncio.sleep(0.1)
    raise AssertionError(f"indexing did not finish: {client.progress_reports}")


async def ready_status(
    status: Callable[[], Awaitable[dict[str, Any]]], timeout: float = 180
) -> dict[str, Any]:
    """mochi.status once the model's load is over: the server loads it (and the experts)
    in the background, after `initialized`."""
    end = time.monotonic() + timeout
    answer = await status()
    while not answer["modelReady"] and time.monotonic() < end:
        await asyncio.sleep(0.2)
        answer = await status()
    return answer


def open_doc(client: LanguageClient, rel: str, text: str) -> str:
    repo: GitRepo = client.repo  # type: ignore[attr-defined]
    uri = (repo.root / rel).as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    return uri


def end_of(text: str) -> types.Position:
    lines = text.split("\n")
    return types.Position(line=len(lines) - 1, character=len(lines[-1]))


async def inline(client: LanguageClient, uri: str, at: types.Position) -> Any:
    return await client.text_document_inline_completion_async(
        types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=at,
            context=types.InlineCompletionContext(
                trigger_kind=types.InlineCompletionTriggerKind.Automatic
            ),
        )
    )


async def command(client: LanguageClient, name: str, *args: Any) -> Any:
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=name, arguments=list(args))
    )
