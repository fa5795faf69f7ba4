"""What the MCP tests ask of an SDK client session: a tool's text, a tool call that must
succeed, the index status resource."""

from __future__ import annotations

import json
from typing import Any

from mcp.client.session import ClientSession
from mcp_types import CallToolResult, TextContent, TextResourceContents

STATUS_URI = "mochi://index/status"


def text_of(result: Any) -> str:
    assert isinstance(result, CallToolResult)
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def call_tool(session: ClientSession, tool: str, **arguments: Any) -> CallToolResult:
    """The tool's result; the test fails (with the tool's message) if it is an error."""
    result = await session.call_tool(tool, arguments)
    assert isinstance(result, CallToolResult)
    assert not result.is_error, text_of(result)
    return result


async def status_of(session: ClientSession) -> dict[str, Any]:
    read = await session.read_resource(STATUS_URI)
    contents = read.contents[0]
    assert isinstance(contents, TextResourceContents)
    status: dict[str, Any] = json.loads(contents.text)
    return status
