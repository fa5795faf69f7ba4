"""mochi.explainCompletion: which expert served the last completion, why, and the
context snippets its prompt held (the logic is in mochi.server.completion.explanation)."""

from __future__ import annotations

from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from mochi.server.completion.explanation import explanation
from mochi.server.lsp.server import MochiServer


def register(server: MochiServer) -> None:
    def forget_closed(event: str, uri: str) -> None:
        if event == "close":
            server.state.completions.pop(uri, None)

    server.state.document_listeners.append(forget_closed)

    @server.command("mochi.explainCompletion")
    async def explain_completion(ls: MochiServer, *args: Any) -> dict[str, Any] | None:
        """Arguments: [uri] (optional: that document's last completion, else the
        workspace's). None when no completion was served yet."""
        uri = args[0] if args else None
        if uri is not None and not isinstance(uri, str):
            raise JsonRpcInvalidParams("argument 1 (uri) must be a string")
        state = ls.state
        record = state.completions.get(uri) if uri else state.last_completion
        return explanation(record) if record is not None else None
