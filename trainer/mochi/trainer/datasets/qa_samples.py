"""Question/answer pairs about code units, written by an OpenAI-compatible chat model."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from mochi.trainer.datasets.units import CodeUnit
from mochi.trainer.samples import Sample

log = logging.getLogger(__name__)

SYSTEM = (
    "You write training data for a coding assistant. Given a piece of code from a "
    "repository, ask one question a developer might have about it and answer it "
    'precisely. Reply with JSON only: {"question": "...", "answer": "..."}'
)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")
_QA_LINES = re.compile(r"(?is)^\s*(?:Q|Question)\s*:\s*(.+?)\n\s*(?:A|Answer)\s*:\s*(.+)$")


class QaError(Exception):
    """One Q/A request failed (HTTP, timeout or an answer that is not a Q/A pair)."""


@dataclass(slots=True)
class QaSamples:
    samples: list[Sample]
    failures: int = 0
    first_error: str = ""


def chat_url(endpoint: str) -> str:
    """`/v1/chat/completions` under a base URL given with or without `/v1`."""
    base = endpoint.rstrip("/")
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


def qa_prompt(path: str, question: str) -> str:
    return f"Question about `{path}`:\n{question}\n\nAnswer:\n"


def parse_pair(content: str) -> tuple[str, str]:
    """(question, answer) from the model's reply: JSON (fenced or not) or Q:/A: lines."""
    text = _FENCE.sub("", content.strip()).strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = None
    pair = (data.get("question"), data.get("answer")) if isinstance(data, dict) else ()
    if all(isinstance(part, str) and part.strip() for part in pair) and pair:
        question, answer = (str(part).strip() for part in pair)
        return question, answer
    match = _QA_LINES.match(text)
    if match is not None:
        return match.group(1).strip(), match.group(2).strip()
    raise QaError(f"the reply is not a question/answer pair: {content[:80]!r}")


class QaClient:
    """Asks `/v1/chat/completions` for one Q/A pair per unit."""

    def __init__(self, endpoint: str, model: str, timeout_s: float, api_key: str = "") -> None:
        self._url = chat_url(endpoint)
        self._model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(timeout=timeout_s, headers=headers)

    def close(self) -> None:
        self._http.close()

    def ask(self, unit: CodeUnit, language: str) -> tuple[str, str]:
        body = {
            "model": self._model,
            "temperature": 0.2,
            "messages": [
                {"role": "system", "content": SYSTEM},
                {
                    "role": "user",
                    "content": f"File: {unit.path}\n```{language}\n{unit.text}\n```",
                },
            ],
        }
        try:
            response = self._http.post(self._url, json=body)
        except httpx.HTTPError as exc:
            raise QaError(f"{self._url}: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise QaError(f"{self._url} answered HTTP {response.status_code}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError):
            raise QaError(f"{self._url} sent no chat completion") from None
        if not isinstance(content, str):
            raise QaError(f"{self._url} sent no text")
        return parse_pair(content)


def qa_samples(
    client: QaClient,
    units: Sequence[tuple[CodeUnit, str]],
    *,
    eos: str,
    commit: str,
    time: int,
    tick: Callable[[int], None] = lambda _done: None,
) -> QaSamples:
    """One sample per unit that got an answer; failures are counted, never fatal."""
    result = QaSamples([])
    for done, (unit, language) in enumerate(units, 1):
        tick(done)
        try:
            question, answer = client.ask(unit, language)
        except QaError as exc:
            result.failures += 1
            result.first_error = result.first_error or str(exc)
            log.warning("Q/A pair for %s skipped: %s", unit.key, exc)
            continue
        result.samples.append(
            Sample(qa_prompt(unit.path, question), answer + eos, "qa", unit.path, commit, time)
        )
    return result
