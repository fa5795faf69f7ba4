"""Convention diagnostics through a real client and `mochi serve` with SmolLM2-135M: with
`diagnostics.conventions = true` an unusual line comes back as a "mochi" diagnostic with
its quick fix; by default none is ever published."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from git_repo import GitRepo
from lsp_fixtures import SERVER_COMMAND, command
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

pytestmark = [pytest.mark.model, pytest.mark.slow]

MODULE = '''"""Inventory {i}."""


def count_items(items):
    total = 0
    for item in items:
        total += item.count
    return total


def find_item(items, name):
    for item in items:
        if item.name == name:
            return item
    return None
'''
ODD_LINE = "    qz_Xv9 = ħ✓ʬ(Ωk ^ 0x7f3e!!, ⸘ζ)"
DOCUMENT = (
    "def total_price(items):\n"
    "    total = 0\n"
    "    for item in items:\n"
    "        total += item.price\n"
    f"{ODD_LINE}\n"
    "    return total\n"
)


def workspace(root: Path) -> GitRepo:
    repo = GitRepo.create(root)
    for i in range(4):
        repo.write(f"shop/inventory_{i}.py", MODULE.format(i=i))
    repo.write("shop/prices.py", DOCUMENT.replace(f"{ODD_LINE}\n", ""))
    repo.commit("inventory")
    return repo


async def start(client: LanguageClient, root: Path, data: Path, options: dict[str, Any]) -> None:
    repo = workspace(root)
    client.repo = repo  # type: ignore[attr-defined]
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=repo.root.as_uri(),
            initialization_options={"dataDir": str(data), **options},
        )
    )


def open_prices(client: LanguageClient) -> str:
    repo: GitRepo = client.repo  # type: ignore[attr-defined]
    uri = (repo.root / "shop/prices.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text=DOCUMENT)
        )
    )
    return uri


async def mochi_diagnostics(
    client: LanguageClient, uri: str, timeout: float
) -> list[types.Diagnostic]:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = [d for d in client.diagnostics.get(uri, []) if d.source == "mochi"]
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


async def model_loaded(client: LanguageClient, timeout: float = 180) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = await command(client, "mochi.status")
        if status.get("model"):
            return
        await asyncio.sleep(0.2)
    raise AssertionError("the model did not load")


CONFIG = ClientServerConfig(
    server_command=SERVER_COMMAND, server_env={**os.environ, "HF_HUB_OFFLINE": "1"}
)


@pytest_lsp.fixture(config=CONFIG)
async def enabled(
    lsp_client: LanguageClient, tmp_path: Path, model_data_dir: Path
) -> AsyncIterator[None]:
    options = {"diagnostics": {"conventions": True, "debounceMs": 0, "quantile": 0.9}}
    await start(lsp_client, tmp_path / "ws", model_data_dir, options)
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=CONFIG)
async def default(
    lsp_client: LanguageClient, tmp_path: Path, model_data_dir: Path
) -> AsyncIterator[None]:
    await start(lsp_client, tmp_path / "ws", model_data_dir, {})
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_an_unusual_line_is_published_with_its_quick_fix(enabled: LanguageClient) -> None:
    client = enabled
    uri = open_prices(client)
    found = await mochi_diagnostics(client, uri, timeout=400)
    unusual = [d for d in found if d.code == "surprise"]
    assert [d.range.start.line for d in unusual] == [4], [d.message for d in found]
    (diagnostic,) = unusual
    assert diagnostic.range.start.character == 4
    assert diagnostic.range.end.character == len(ODD_LINE)
    assert diagnostic.severity == types.DiagnosticSeverity.Hint
    assert "unusual for this repository" in diagnostic.message

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=diagnostic.range,
            context=types.CodeActionContext(diagnostics=[diagnostic]),
        )
    )
    fixes = [a for a in actions or [] if a.title == "mochi: Show how this repository writes it"]
    suggestion = (diagnostic.data or {}).get("suggestion")
    assert isinstance(suggestion, str) and suggestion in diagnostic.message
    (fix,) = fixes
    assert isinstance(fix, types.CodeAction) and fix.kind == types.CodeActionKind.QuickFix
    assert fix.edit is not None and fix.edit.changes is not None
    (edit,) = fix.edit.changes[uri]
    assert edit.range == diagnostic.range and edit.new_text == suggestion
    assert edit.new_text.strip() != ODD_LINE.strip()

    client.text_document_did_close(
        types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri=uri))
    )
    end = time.monotonic() + 30
    while client.diagnostics.get(uri) and time.monotonic() < end:
        await asyncio.sleep(0.1)
    assert uri in client.diagnostics and not client.diagnostics[uri]  # cleared on close


@pytest.mark.asyncio
async def test_by_default_no_convention_diagnostics(default: LanguageClient) -> None:
    client = default
    await model_loaded(client)
    uri = open_prices(client)
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri=uri))
    )
    assert await mochi_diagnostics(client, uri, timeout=30) == []
    titles = {
        r.title
        for reports in client.progress_reports.values()
        for r in reports
        if isinstance(r, types.WorkDoneProgressBegin)
    }
    assert "mochi: learning this repository's conventions" not in titles  # not even started
