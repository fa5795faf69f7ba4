"""The TrainingClient that talks to `mochi trainer serve` over HTTP (httpx, with timeouts)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from mochi.rag.paths import data_dir as default_data_dir
from mochi.server.config import TrainerConfig
from mochi.server.trainer_client import (
    NoTrainer,
    TrainerRequestError,
    TrainerState,
    TrainerUnavailable,
    TrainingClient,
)
from mochi.trainer.protocol import (
    EVENTS_KEEPALIVE_SECONDS,
    AdapterView,
    JobKind,
    JobRequest,
    JobView,
    token_path,
)

CONNECT_TIMEOUT = 3.0
REQUEST_TIMEOUT = 30.0
# Four keep-alives missed: the daemon (or the network to it) is gone.
EVENTS_READ_TIMEOUT = 4 * EVENTS_KEEPALIVE_SECONDS


def read_token(data_dir: Path | None = None) -> str:
    """The daemon's token from its file in the mochi data dir ("" when there is none)."""
    path = token_path(data_dir or default_data_dir())
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        return ""


class HttpTrainingClient:
    def __init__(
        self,
        url: str,
        token: str = "",
        *,
        data_dir: Path | None = None,
        timeout: float = REQUEST_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"trainer.url must be an http:// or https:// URL, not {url!r}")
        self.url = url.rstrip("/")
        self._token_file = token_path(data_dir or default_data_dir())
        self._token = token.strip() or read_token(data_dir)
        self._timeout = httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
        self._transport = transport

    # -- TrainingClient ----------------------------------------------------------------

    def state(self) -> TrainerState:
        try:
            self.check()
        except TrainerUnavailable as exc:
            return TrainerState.UNAUTHORIZED if "token" in str(exc) else TrainerState.UNREACHABLE
        except TrainerRequestError:  # it answers, but not as a daemon would
            return TrainerState.UNREACHABLE
        return TrainerState.READY

    def check(self) -> None:
        """Ask /health (the daemon checks the token on every request): raises
        TrainerUnavailable, whose message says what to do, unless both are fine."""
        self._request("GET", "/health")

    def submit(self, request: JobRequest) -> JobView:
        return JobView.from_json(self._request("POST", "/v1/jobs", json=request.to_json()))

    def submit_finetune(self, workspace: str, adapter: str) -> str:
        return self.submit(JobRequest(JobKind.FINETUNE, workspace, adapter)).id

    def job(self, job_id: str) -> JobView:
        return JobView.from_json(self._request("GET", f"/v1/jobs/{job_id}"))

    def jobs(self, state: str | None = None) -> list[JobView]:
        params = {"state": state} if state else None
        return [JobView.from_json(j) for j in self._request("GET", "/v1/jobs", params=params)]

    def cancel(self, job_id: str) -> JobView:
        return JobView.from_json(self._request("POST", f"/v1/jobs/{job_id}/cancel"))

    def adapters(self) -> list[AdapterView]:
        return [AdapterView.from_json(a) for a in self._request("GET", "/v1/adapters")]

    def events(self, job_id: str) -> Iterator[JobView]:
        """The job's state and progress until it finishes; TrainerUnavailable when the
        stream breaks or stays silent past `EVENTS_READ_TIMEOUT` (no keep-alives)."""
        timeout = httpx.Timeout(None, connect=CONNECT_TIMEOUT, read=EVENTS_READ_TIMEOUT)
        with self._client(timeout) as client:
            try:
                with client.stream("GET", f"/v1/jobs/{job_id}/events") as response:
                    if response.status_code != 200:
                        response.read()
                        self._raise_for(response)
                    for event, data in _sse_events(response.iter_lines()):
                        if event in ("state", "progress"):
                            view = JobView.from_json(json.loads(data))
                            yield view
                            if view.state.finished:
                                return
                        elif event == "error":
                            raise TrainerRequestError(_detail_text(json.loads(data)), 404)
            except httpx.TransportError as exc:
                raise self._unreachable(exc) from exc

    # -- plumbing ----------------------------------------------------------------------

    def _client(self, timeout: httpx.Timeout | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        kwargs: dict[str, Any] = {}
        if self._transport is not None:
            kwargs["transport"] = self._transport
        return httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout or self._timeout, **kwargs
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            with self._client() as client:
                response = client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        self._raise_for(response)
        return response.json()

    def _unreachable(self, exc: Exception) -> TrainerUnavailable:
        return TrainerUnavailable(
            f"the training daemon at {self.url} is not reachable ({type(exc).__name__}: "
            f"{exc}); start it with `mochi trainer serve` or fix trainer.url"
        )

    def _raise_for(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        if response.status_code == 401:
            where = (
                "the token given in trainer.token"
                if self._token
                else f"no token (none configured, none in {self._token_file})"
            )
            raise TrainerUnavailable(
                f"the training daemon at {self.url} refused {where}: set trainer.token to "
                f"the content of the daemon's token file ({self._token_file} on its machine)"
            )
        try:
            detail: Any = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        raise TrainerRequestError(
            f"the training daemon refused the request ({response.status_code}): "
            f"{_detail_text(detail)}",
            response.status_code,
        )


def _detail_text(detail: Any) -> str:
    if isinstance(detail, dict) and "detail" in detail:
        detail = detail["detail"]
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                loc = ".".join(str(p) for p in item.get("loc", []) if p != "body")
                parts.append(f"{loc}: {item.get('msg', '')}" if loc else str(item.get("msg")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return str(detail)


def _sse_events(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """(event, data) pairs of a text/event-stream."""
    event, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))
    if data:
        yield event, "\n".join(data)


def make_trainer(config: TrainerConfig, *, data_dir: Path | None = None) -> TrainingClient:
    """NoTrainer when `trainer.url` is empty, else the HTTP client."""
    if not config.url:
        return NoTrainer()
    return HttpTrainingClient(config.url, config.token, data_dir=data_dir)
