"""A stand-in Generator: answers a fixed text, keeps the requests it got and the
adapters loaded into it (name -> path)."""

from __future__ import annotations

from collections.abc import Mapping

from mochi.server.generation import (
    BackendHealth,
    BackendState,
    CancelToken,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)


class RecordingGenerator:
    """`answer` for every request; `fim` is the FIM template `info()` reports; `loaded`
    the adapters it starts with. A token is a word, plus one."""

    def __init__(
        self,
        answer: str = "x",
        *,
        fim: str | None = None,
        loaded: Mapping[str, str] | None = None,
    ) -> None:
        self.answer = answer
        self.fim = fim
        self.requests: list[GenerationRequest] = []
        self.loaded: dict[str, str] = dict(loaded or {})

    def info(self) -> ModelInfo:
        return ModelInfo("recording", "transformers", 4096, fim_template=self.fim)

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        self.requests.append(request)
        return GenerationResult(self.answer, "stop", 1, 1, adapter=request.adapter)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + 1

    def load_adapter(self, name: str, path: str) -> None:
        self.loaded[name] = path

    def adapters(self) -> list[str]:
        return list(self.loaded)

    def health(self) -> BackendHealth:
        return BackendHealth(BackendState.READY)

    def close(self) -> None:
        pass


class UnloadingGenerator(RecordingGenerator):
    """A RecordingGenerator that can also drop an adapter."""

    def unload_adapter(self, name: str) -> None:
        del self.loaded[name]
