"""The JSON-RPC envelope of a message: what it is (request, notification, response) and
its id, checked before pygls structures it, so that a malformed message is answered with
-32600 and the id (when it has a usable one) rather than dropped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

MessageId = int | str
Kind = Literal["request", "notification", "response"]


class InvalidMessage(Exception):
    """Not a JSON-RPC 2.0 message; `message_id` is the id to answer with (None: null)."""

    def __init__(self, reason: str, message_id: MessageId | None = None) -> None:
        super().__init__(reason)
        self.message_id = message_id


@dataclass(frozen=True)
class Envelope:
    kind: Kind
    id: MessageId | None
    method: str | None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a string" if isinstance(value, str) else "a number"


def _usable_id(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def read_envelope(payload: Any) -> Envelope:
    """The envelope of one decoded JSON value; raises InvalidMessage."""
    if isinstance(payload, list):
        raise InvalidMessage("batches are not supported: send one message per frame")
    if not isinstance(payload, dict):
        raise InvalidMessage(f"a message is a JSON object, got {_json_kind(payload)}")
    has_id, raw_id = "id" in payload, payload.get("id")
    message_id = raw_id if _usable_id(raw_id) else None
    if payload.get("jsonrpc") != "2.0":
        raise InvalidMessage('"jsonrpc" must be "2.0"', message_id)
    if has_id and message_id is None:
        raise InvalidMessage('"id" must be an integer or a string')
    if "method" in payload:
        method = payload["method"]
        if not isinstance(method, str):
            raise InvalidMessage('"method" must be a string', message_id)
        if "result" in payload or "error" in payload:
            raise InvalidMessage("a request cannot hold a result or an error", message_id)
        return Envelope("request" if has_id else "notification", message_id, method)
    if not has_id:
        raise InvalidMessage('a message needs a "method" (or an "id", for a response)')
    if ("result" in payload) == ("error" in payload):
        raise InvalidMessage('a response holds exactly one of "result" and "error"')
    return Envelope("response", message_id, None)
