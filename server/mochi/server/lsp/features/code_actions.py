"""textDocument/codeAction (+ resolve): explain, docstring, tests, similar code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path

from mochi.server.assist import code_tasks
from mochi.server.assist.code_units import unit_at
from mochi.server.generation import CancelToken
from mochi.server.lsp.server import MochiServer

DOCSTRING = "mochi: Generate docstring"
TESTS = "mochi: Write tests for this function"


def _unit(ls: MochiServer, uri: str, line: int) -> tuple[str, Any]:
    document = ls.workspace.get_text_document(uri)
    path = ls.state.relative(Path(document.path))
    return path, unit_at(path, document.source, line)


def register(server: MochiServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.RefactorRewrite, types.CodeActionKind.Empty],
            resolve_provider=True,
        ),
    )
    def code_action(
        ls: MochiServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        _, unit = _unit(ls, uri, params.range.start.line)
        if unit is None:
            return None
        args: list[Any] = [uri, params.range.start.line]
        data = {"uri": uri, "line": params.range.start.line}
        actions = [
            types.CodeAction(
                title=f"mochi: Explain `{unit.name}`",
                kind=types.CodeActionKind.Empty,
                command=types.Command("Explain", "mochi.explain", arguments=args),
            ),
            types.CodeAction(
                title=f"mochi: Find code similar to `{unit.name}`",
                kind=types.CodeActionKind.Empty,
                command=types.Command("Find similar", "mochi.findSimilar", arguments=args),
            ),
        ]
        if unit.kind in ("function", "method"):
            actions += [
                types.CodeAction(
                    title=DOCSTRING, kind=types.CodeActionKind.RefactorRewrite, data=data
                ),
                types.CodeAction(title=TESTS, kind=types.CodeActionKind.Empty, data=data),
            ]
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: MochiServer, action: types.CodeAction) -> types.CodeAction:
        """The model runs only when the user picks the action (lazy resolve)."""
        data = action.data if isinstance(action.data, dict) else {}
        uri, line = str(data.get("uri", "")), int(data.get("line", 0))
        generator = ls.state.generator
        path, unit = _unit(ls, uri, line)
        if generator is None or unit is None:
            return action
        cancel = CancelToken()
        if action.title == DOCSTRING:
            insertion = await ls.state.run_model(code_tasks.docstring, generator, unit, cancel)
            at = types.Position(insertion.line, 0)
            action.edit = types.WorkspaceEdit(
                changes={uri: [types.TextEdit(types.Range(at, at), insertion.text)]}
            )
        elif action.title == TESTS and ls.state.root is not None:
            text = await ls.state.run_model(code_tasks.tests_for, generator, path, unit, cancel)
            target = from_fs_path(str(ls.state.root / code_tasks.test_file_path(path, unit)))
            assert target is not None
            origin = types.Position(0, 0)
            action.edit = types.WorkspaceEdit(
                document_changes=[
                    types.CreateFile(
                        uri=target,
                        options=types.CreateFileOptions(overwrite=False, ignore_if_exists=True),
                    ),
                    types.TextDocumentEdit(
                        text_document=types.OptionalVersionedTextDocumentIdentifier(
                            uri=target, version=None
                        ),
                        edits=[types.TextEdit(types.Range(origin, origin), text)],
                    ),
                ]
            )
        return action
