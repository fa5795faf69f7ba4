"""The language server with a stand-in model and the hashing embedder, over stdio: for
end-to-end tests of the server itself (its metrics), where what the model says is not
under test. pytest-lsp starts it as `python fake_model_server.py`.

The stand-in answers at once; a prompt that holds `SLOW_MARKER` waits (cancellably)
for up to 30 s. Like a prefix cache, every prompt after the first reports all but its
last token as cached."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from hashing_embedder import HashingEmbedder

from mochi.rag.index import WorkspaceIndex, open_workspace_index
from mochi.server.config import MochiConfig
from mochi.server.generation import (
    BackendHealth,
    BackendState,
    CancelToken,
    GenerationCancelled,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)
from mochi.server.lsp import Services, create_server

SLOW_MARKER = "SLOW_MARKER"
MODEL_ID = "fake-model"


class FakeGenerator:
    def __init__(self) -> None:
        self._calls = 0
        self._lock = threading.Lock()

    def info(self) -> ModelInfo:
        return ModelInfo(model_id=MODEL_ID, backend="fake", context_length=4096)

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        if SLOW_MARKER in request.prompt:
            end = time.monotonic() + 30
            while time.monotonic() < end:
                if cancel.is_set():
                    raise GenerationCancelled()
                time.sleep(0.01)
        with self._lock:
            first = self._calls == 0
            self._calls += 1
        tokens = self.count_tokens(request.prompt)
        return GenerationResult(
            text="value + 1",
            finish_reason="stop",
            prompt_tokens=tokens,
            completion_tokens=3,
            cached_prompt_tokens=0 if first else tokens - 1,
            seconds_prefill=0.02,
            seconds_decode=0.01,
        )

    def count_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    def load_adapter(self, name: str, path: str) -> None:
        raise NotImplementedError

    def adapters(self) -> list[str]:
        return []

    def health(self) -> BackendHealth:
        return BackendHealth(BackendState.READY, "fake")

    def close(self) -> None:
        pass


def open_index(root: Path, config: MochiConfig) -> WorkspaceIndex:
    return open_workspace_index(root, config, embedder=HashingEmbedder())


def main() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    services = Services(open_index=open_index, make_generator=lambda config, root: FakeGenerator())
    server = create_server(services)
    server.start_io(sys.stdin.buffer, sys.stdout.buffer)
    sys.exit(server.exit_code)


if __name__ == "__main__":
    main()
