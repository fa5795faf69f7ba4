"""Where a secret sits in a text, and the text with every secret replaced by a mark."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

REDACTED = "\u00abredacted secret\u00bb"  # "redacted secret" in guillemets, escaped here


@dataclass(frozen=True, slots=True)
class Finding:
    """`text[start:end]` is a secret that `rule` found."""

    start: int
    end: int
    rule: str


@dataclass(frozen=True, slots=True)
class Redaction:
    """A text with its secrets replaced by REDACTED, and what was found."""

    text: str
    findings: tuple[Finding, ...]

    @property
    def count(self) -> int:
        return len(self.findings)

    @property
    def rules(self) -> list[str]:
        return sorted({f.rule for f in self.findings})


def merged(findings: Iterable[Finding]) -> list[Finding]:
    """Overlapping or touching findings joined into one (the first rule names it)."""
    out: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if out and f.start <= out[-1].end:
            last = out[-1]
            out[-1] = Finding(last.start, max(last.end, f.end), last.rule)
        else:
            out.append(f)
    return out


def redact(text: str, findings: Iterable[Finding]) -> Redaction:
    """Each found span becomes REDACTED followed by the newlines it held, so every line
    after it keeps its number."""
    spans = merged(f for f in findings if f.end > f.start)
    if not spans:
        return Redaction(text, ())
    parts: list[str] = []
    at = 0
    for f in spans:
        parts.append(text[at : f.start])
        parts.append(REDACTED + "\n" * text.count("\n", f.start, f.end))
        at = f.end
    parts.append(text[at:])
    return Redaction("".join(parts), tuple(spans))
