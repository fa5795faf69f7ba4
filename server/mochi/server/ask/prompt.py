"""The messages sent to the LLM: the instructions, the numbered sources with their line
numbers, and the question."""

from __future__ import annotations

from collections.abc import Sequence

from mochi.server.ask.chat import Message
from mochi.server.ask.sources import Source

SYSTEM = (
    "You answer questions about a software repository, using only the numbered sources "
    "the user gives. Each source line starts with its line number. After every sentence, "
    "cite the line it rests on as [path:line], for example [{example}]. Cite only paths "
    "and lines shown in the sources. If the sources do not answer the question, say so."
)


def source_block(source: Source) -> str:
    symbol = f" ({source.symbol})" if source.symbol else ""
    body = "\n".join(f"{number}: {text}" for number, text in source.numbered_lines())
    return f"[{source.number}] {source.label}{symbol}\n```\n{body}\n```"


def messages_for(question: str, sources: Sequence[Source]) -> list[Message]:
    example = f"{sources[0].path}:{sources[0].start_line}" if sources else "path/file.py:12"
    blocks = "\n\n".join(source_block(s) for s in sources)
    user = f"Sources:\n\n{blocks}\n\nQuestion: {question.strip()}"
    return [
        Message("system", SYSTEM.format(example=example)),
        Message("user", user),
    ]
