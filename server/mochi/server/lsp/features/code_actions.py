"""textDocument/codeAction (+ resolve): explain, docstring, tests, similar code, and the
quick fix of a convention diagnostic."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path

from mochi.server.assist import code_tasks
from mochi.server.assist.code_units import CodeUnit, unit_at
from mochi.server.generation import CancelToken, Generator
from mochi.server.lsp.features.ask import ask_code_actions
from mochi.server.lsp.features.conventions import quick_fixes
from mochi.server.lsp.features.document_text import DocumentText, document_text
from mochi.server.lsp.server import MochiServer

DOCSTRING = "mochi: Generate docstring"
TESTS = "mochi: Write tests for this function"
# What `resolve` computes, by the `task` in an action's data. Explain and Find similar are
# commands: they have no data and resolve to themselves.
RESOLVED_TASKS = ("docstring", "tests")


def _unit(ls: MochiServer, uri: str, line: int) -> tuple[DocumentText, CodeUnit] | None:
    document = document_text(ls, uri)
    if document is None or not 0 <= line < len(document.lines):
        return None
    unit = unit_at(document.path, document.text, line)
    return (document, unit) if unit is not None else None


def _command_action(title: str, label: str, command: str, args: list[Any]) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.Empty,
        command=types.Command(label, command, arguments=args),
    )


def register(server: MochiServer) -> None:
    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[
                types.CodeActionKind.QuickFix,
                types.CodeActionKind.RefactorRewrite,
                types.CodeActionKind.Empty,
            ],
            resolve_provider=True,
        ),
    )
    def code_action(
        ls: MochiServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        uri, line = params.text_document.uri, params.range.start.line
        fixes = quick_fixes(uri, params.context.diagnostics)
        asks = ask_code_actions(ls, params)  # about a non-empty selection
        found = _unit(ls, uri, line)
        if found is None:
            return [*fixes, *asks] or None
        name, args = found[1].name, [uri, line]
        actions = [
            *fixes,
            _command_action(f"mochi: Explain `{name}`", "Explain", "mochi.explain", args),
            _command_action(
                f"mochi: Find code similar to `{name}`", "Find similar", "mochi.findSimilar", args
            ),
        ]
        if found[1].kind in ("function", "method"):
            actions += [
                types.CodeAction(
                    title=DOCSTRING,
                    kind=types.CodeActionKind.RefactorRewrite,
                    data={"uri": uri, "line": line, "task": "docstring"},
                ),
                types.CodeAction(
                    title=TESTS,
                    kind=types.CodeActionKind.Empty,
                    data={"uri": uri, "line": line, "task": "tests"},
                ),
            ]
        return [*actions, *asks]

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: MochiServer, action: types.CodeAction) -> types.CodeAction:
        """The model runs only when the user picks the action (lazy resolve)."""
        data = action.data if isinstance(action.data, dict) else {}
        task, uri, line = data.get("task"), data.get("uri"), data.get("line")
        generator = ls.state.generator
        if task not in RESOLVED_TASKS or not isinstance(uri, str) or not isinstance(line, int):
            return action  # nothing to compute (a command action, or not ours)
        found = _unit(ls, uri, line)
        if generator is None or found is None:
            return action
        if task == "docstring":
            action.edit = await _docstring_edit(ls, generator, uri, found[1])
        elif ls.state.root is not None:
            action.edit = await _tests_edit(ls, generator, *found)
        return action


async def _docstring_edit(
    ls: MochiServer, generator: Generator, uri: str, unit: CodeUnit
) -> types.WorkspaceEdit:
    edit = await ls.state.run_model(code_tasks.docstring, generator, unit, CancelToken())
    span = types.Range(types.Position(edit.start, 0), types.Position(edit.end, 0))
    return types.WorkspaceEdit(changes={uri: [types.TextEdit(span, edit.text)]})


async def _tests_edit(
    ls: MochiServer, generator: Generator, document: DocumentText, unit: CodeUnit
) -> types.WorkspaceEdit:
    assert ls.state.root is not None
    path = document.path
    text = await ls.state.run_model(code_tasks.tests_for, generator, path, unit, CancelToken())
    target = from_fs_path(str(ls.state.root / code_tasks.test_file_path(path, unit)))
    assert target is not None
    origin = types.Position(0, 0)
    return types.WorkspaceEdit(
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
