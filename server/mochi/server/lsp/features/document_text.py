"""The text a feature works on, found by URI, and positions clamped to it.

An open document's text is what counts. JSON allows lone surrogates (`"\\ud800"`) that no
encoder, tokenizer or embedder accepts: they are replaced by U+FFFD, one UTF-16 unit for
one, so positions keep their meaning. A document that is not open is read from disk only
when it is a file inside the workspace; anything else (a missing file, `untitled:` and
other schemes) has no text: editor requests get no result, commands a -32803 error.
Nothing is ever read relative to the server's working directory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.uris import to_fs_path

from mochi.rag.languages import CODE_EXTENSIONS
from mochi.rag.paths import inside_workspace
from mochi.server.lsp.server import MochiServer

_SURROGATE = re.compile("[\ud800-\udfff]")
# An editor's language id -> a file suffix, so an `untitled:` buffer is chunked as code.
_SUFFIX = {language: suffix for suffix, language in reversed(CODE_EXTENSIONS.items())}


def without_surrogates(text: str) -> str:
    """`text` with each lone surrogate replaced by U+FFFD (the same length in UTF-16)."""
    return _SURROGATE.sub("\ufffd", text)


class DocumentUnavailable(JsonRpcException):
    """RequestFailed (-32803): the document is neither open nor a file of the workspace."""

    CODE = -32803


@dataclass(frozen=True, slots=True)
class DocumentText:
    uri: str
    path: str  # workspace-relative; for a non-file document, its name plus a suffix
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def clamp(self, position: types.Position) -> types.Position | None:
        """`position` inside the text: a character past the end of its line is the line's
        end (as LSP says); a line past the last one is None (there is nothing there)."""
        lines = self.lines
        if not 0 <= position.line < len(lines):
            return None
        character = min(max(position.character, 0), len(lines[position.line]))
        return types.Position(position.line, character)


def document_text(ls: MochiServer, uri: str) -> DocumentText | None:
    """The open document's text, else a workspace file's; None when there is neither."""
    documents = ls.workspace.text_documents
    opened = documents.get(uri) or documents.get(unquote(uri))
    scheme = urlparse(uri).scheme
    local = Path(to_fs_path(uri) or "") if scheme == "file" else None
    if opened is not None:
        if local is not None:
            path = ls.state.relative(local)
        else:
            path = _buffer_name(uri, opened.language_id)
        return DocumentText(uri, path, without_surrogates(opened.source))
    if local is None or not _workspace_file(ls, local):
        return None
    text = local.read_text(encoding="utf-8", errors="replace")
    return DocumentText(uri, ls.state.relative(local), without_surrogates(text))


def require_document(ls: MochiServer, uri: str) -> DocumentText:
    """The document's text, or a RequestFailed error that names it."""
    document = document_text(ls, uri)
    if document is None:
        raise DocumentUnavailable(
            f"{_shown(ls, uri)} is not open in the editor and is not a file of the workspace"
        )
    return document


def _workspace_file(ls: MochiServer, path: Path) -> bool:
    root = ls.state.root
    if root is None or not path.is_absolute():
        return False
    if not inside_workspace(root, path) or not path.is_file():  # no link leads out
        return False
    return path.stat().st_size <= ls.state.config.index.max_file_bytes


def _buffer_name(uri: str, language_id: str | None) -> str:
    parsed = urlparse(uri)
    name = PurePosixPath(unquote(parsed.path or parsed.netloc)).name or "untitled"
    suffix = _SUFFIX.get(language_id or "", "")
    return name if PurePosixPath(name).suffix else name + suffix


def _shown(ls: MochiServer, uri: str) -> str:
    if urlparse(uri).scheme == "file":
        return ls.state.relative(Path(to_fs_path(uri) or uri))
    return uri
