"""A small LSP client for `mochi serve`: used by `mochi demo` and the benchmarks."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

# `-P`: the working directory (often the workspace) is not put on sys.path, so a
# repository with a top-level `httpx/` or `pygls/` cannot shadow what the server imports.
SERVER_COMMAND = (sys.executable, "-P", "-m", "mochi.server.cli.main", "serve")


class MochiClient:
    """Starts `mochi serve` as an editor would and talks LSP to it over stdio."""

    def __init__(self) -> None:
        self.client = LanguageClient("mochi-client", "1")
        self.indexed = asyncio.Event()
        self.progress: list[str] = []
        self.messages: list[str] = []
        self._versions: dict[str, int] = {}

        def _create(params: types.WorkDoneProgressCreateParams) -> None:
            return None

        def _progress(params: types.ProgressParams) -> None:
            value = params.value
            kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
            message = (
                value.get("message") if isinstance(value, dict) else getattr(value, "message", None)
            )
            if message:
                self.progress.append(str(message))
            if kind == "end":
                self.indexed.set()

        def _show(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        # pygls' client decorators are untyped: register by call.
        feature: Any = self.client.feature
        feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)(_create)
        feature(types.PROGRESS)(_progress)
        feature(types.WINDOW_SHOW_MESSAGE)(_show)

    @property
    def server_pid(self) -> int:
        server: Any = self.client._server
        return int(server.pid)

    async def start(self, root: Path, options: dict[str, Any], timeout: float = 900) -> None:
        await self.client.start_io(*SERVER_COMMAND)
        await self.client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(
                    window=types.WindowClientCapabilities(work_done_progress=True)
                ),
                root_uri=root.resolve().as_uri(),
                initialization_options=options,
            )
        )
        self.client.initialized(types.InitializedParams())
        await asyncio.wait_for(self.indexed.wait(), timeout)

    def open(self, path: Path, text: str) -> str:
        uri = path.resolve().as_uri()
        self._versions[uri] = 1
        self.client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        return uri

    def insert(self, uri: str, line: int, character: int, text: str) -> None:
        self._versions[uri] += 1
        at = types.Position(line=line, character=character)
        self.client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(
                    uri=uri, version=self._versions[uri]
                ),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=types.Range(start=at, end=at), text=text
                    )
                ],
            )
        )

    async def inline(self, uri: str, line: int, character: int) -> str | None:
        result = await self.client.text_document_inline_completion_async(
            types.InlineCompletionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
                context=types.InlineCompletionContext(
                    trigger_kind=types.InlineCompletionTriggerKind.Automatic
                ),
            )
        )
        if result is None:
            return None
        items = result.items if isinstance(result, types.InlineCompletionList) else result
        return str(items[0].insert_text) if items else None

    async def hover(self, uri: str, line: int, character: int) -> str | None:
        result = await self.client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=character),
            )
        )
        if result is None:
            return None
        contents: Any = result.contents
        return str(getattr(contents, "value", contents))

    async def command(self, name: str, *args: Any) -> Any:
        return await self.client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=name, arguments=list(args))
        )

    async def stop(self) -> None:
        await self.client.shutdown_async(None)
        self.client.exit(None)
        await self.client.stop()  # type: ignore[no-untyped-call]
