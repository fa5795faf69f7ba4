"""Convention diagnostics (`diagnostics.conventions`, off by default): lines and names
unusual for this repository, published as `textDocument/publishDiagnostics` (source
"mochi") after a document opens, changes (debounced) or is saved. The check runs on the
model thread; an edit cancels the check of the text it replaced. The repository's norms
are learnt once per model and adapter (cached beside the index) under `$/progress`.
The quick fix lives in `code_actions` (it reads the suggestion from the diagnostic)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from lsprotocol import types

from mochi.rag.languages import classify
from mochi.rag.types import Progress
from mochi.server.assist.conventions import (
    ConventionFinding,
    RepositoryNorms,
    check_settings,
    check_text,
    workspace_norms,
)
from mochi.server.generation import CancelToken, GenerationCancelled, Generator
from mochi.server.generation.scoring import scorer_of
from mochi.server.lsp.features.document_text import DocumentText, document_text
from mochi.server.lsp.progress import run_with_progress
from mochi.server.lsp.server import MochiServer

log = logging.getLogger(__name__)
SOURCE = "mochi"
ACTION_TITLE = "mochi: Show how this repository writes it"
_KEY = "conventions:"


class ConventionDiagnostics:
    """The per-document debounce, the norms learnt so far and what was published."""

    def __init__(self, server: MochiServer) -> None:
        self.server = server
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.published: set[str] = set()
        self.norms: dict[tuple[str, str | None], RepositoryNorms] = {}
        self.learning: dict[tuple[str, str | None], asyncio.Future[RepositoryNorms | None]] = {}

    def on_document(self, event: str, uri: str) -> None:
        state = self.server.state
        running = state.inflight.get(_KEY + uri)
        if running is not None:
            running.cancel()  # its text is stale now
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        if event == "close" or not state.config.diagnostics.conventions:
            self.clear(uri)
            return
        delay = 0.0 if event == "open" else state.config.diagnostics.debounce_ms / 1000
        task = asyncio.ensure_future(self.check_later(uri, delay))
        self.pending[uri] = task
        state.background.add(task)
        task.add_done_callback(state.background.discard)

    async def check_later(self, uri: str, delay: float) -> None:
        await asyncio.sleep(delay)
        state = self.server.state
        await state.generator_ready.wait()
        document = document_text(self.server, uri)
        generator = state.generator
        config = state.config.diagnostics
        if document is None or generator is None or len(document.text) > config.max_file_chars:
            return
        adapter = state.router.choose(
            document.path, classify(document.path)[0], generator.adapters()
        )
        norms = await self.norms_for(generator, adapter)
        if norms is None:
            return
        token = state.supersede(_KEY + uri)
        try:
            findings = await state.run_model(self.check, generator, norms, document, adapter, token)
        except GenerationCancelled:
            return
        except Exception:
            log.exception("convention check of %s failed", document.path)
            return
        finally:
            state.finish(_KEY + uri, token)
        if not token.is_set() and state.config.diagnostics.conventions:
            self.publish(uri, document, findings)

    async def norms_for(self, generator: Generator, adapter: str | None) -> RepositoryNorms | None:
        """The repository's norms for this model and adapter: from memory, the cache, or
        learnt now (scoring a sample of the repository, with `$/progress`)."""
        key = (generator.info().model_id, adapter)
        if key in self.norms:
            return self.norms[key]
        learning = self.learning.get(key)
        if learning is None:
            learning = asyncio.ensure_future(self._learn(generator, key))
            self.learning[key] = learning
            learning.add_done_callback(lambda _t: self.learning.pop(key, None))
        # An edit cancels the check waiting here, not the learning: the next check uses it.
        return await asyncio.shield(learning)

    async def _learn(
        self, generator: Generator, key: tuple[str, str | None]
    ) -> RepositoryNorms | None:
        state = self.server.state
        root = state.root
        if root is None:
            return None
        name = f"{_KEY}norms:{key[1]}"
        token = state.supersede(name)  # cancelled only when the workspace closes
        config = state.config

        def learn(report: Callable[[Progress], None], cancelled: Callable[[], bool]) -> Any:
            return workspace_norms(
                root,
                config,
                scorer_of(generator),
                model=key[0],
                adapter=key[1],
                cancel=token,
                sample_files=config.diagnostics.calibration_files,
                min_tokens=config.diagnostics.min_tokens,
                progress=report,
            )

        try:
            norms: RepositoryNorms = await run_with_progress(
                self.server,
                "mochi: learning this repository's conventions",
                learn,
                state.run_model,
                lambda n: f"{n.lines} lines of {n.files} files",
            )
        except GenerationCancelled:
            return None
        except Exception:
            log.exception("learning the repository's conventions failed")
            return None
        finally:
            state.finish(name, token)
        self.norms[key] = norms
        if not norms.has_surprise:
            log.info("the %s back end cannot score: naming findings only", generator.info().backend)
        return norms

    def check(
        self,
        generator: Generator,
        norms: RepositoryNorms,
        document: DocumentText,
        adapter: str | None,
        token: CancelToken,
    ) -> list[ConventionFinding]:
        settings = check_settings(self.server.state.config.diagnostics)
        return check_text(
            scorer_of(generator),
            norms,
            document.path,
            document.text,
            adapter=adapter,
            cancel=token,
            settings=settings,
        )

    def publish(self, uri: str, document: DocumentText, findings: list[ConventionFinding]) -> None:
        severity = (
            types.DiagnosticSeverity.Information
            if self.server.state.config.diagnostics.severity == "information"
            else types.DiagnosticSeverity.Hint
        )
        lines = document.lines
        codec = self.server.workspace.position_codec
        diagnostics = [
            types.Diagnostic(
                range=types.Range(
                    codec.position_to_client_units(lines, types.Position(f.line, f.start)),
                    codec.position_to_client_units(lines, types.Position(f.line, f.end)),
                ),
                message=f.message,
                severity=severity,
                code=f.kind,
                source=SOURCE,
                data={"kind": f.kind, "suggestion": f.suggestion},
            )
            for f in findings
        ]
        self.published.add(uri)
        self.server.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics)
        )

    def clear(self, uri: str) -> None:
        if uri in self.published:
            self.published.discard(uri)
            self.server.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )


def quick_fixes(uri: str, diagnostics: Sequence[types.Diagnostic]) -> list[types.CodeAction]:
    """ "Show how this repository writes it" for each mochi diagnostic with a suggestion:
    a quick fix that puts the suggestion in the diagnostic's range."""
    actions = []
    for diagnostic in diagnostics:
        data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
        suggestion = data.get("suggestion")
        if diagnostic.source != SOURCE or not isinstance(suggestion, str):
            continue
        edit = types.TextEdit(diagnostic.range, suggestion)
        actions.append(
            types.CodeAction(
                title=ACTION_TITLE,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diagnostic],
                edit=types.WorkspaceEdit(changes={uri: [edit]}),
            )
        )
    return actions


def register(server: MochiServer) -> None:
    diagnostics = ConventionDiagnostics(server)
    server.state.document_listeners.append(diagnostics.on_document)
