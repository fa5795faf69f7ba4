"""The chat models behind `ask`: OpenAIChat against a real HTTP server (the stand-in),
with its errors and cancellation; LocalChat's prompt (the model's chat template, else
ChatML); the configuration that picks one; and the pipeline from retrieval to a cited
answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from chat_stand_in import ChatStandIn, sources_in
from ports import free_port

from mochi.rag.config import ConfigError
from mochi.rag.types import Hit, SearchFilters
from mochi.server.ask import (
    AskError,
    AskSettings,
    ChatError,
    LlmNotConfigured,
    LocalChat,
    Message,
    NoSources,
    OpenAIChat,
    ask,
    chat_model_for,
    chatml,
)
from mochi.server.ask.chat import template_from_folder
from mochi.server.config import AskConfig
from mochi.server.generation import (
    BackendHealth,
    BackendState,
    CancelToken,
    GenerationCancelled,
    GenerationRequest,
    GenerationResult,
    ModelInfo,
)

QUESTION = [Message("system", "Be brief."), Message("user", "What is 2 + 2?")]


@pytest.fixture
def stand_in() -> Iterator[ChatStandIn]:
    server = ChatStandIn(answer=lambda request: "Four, as the sources say.").start()
    yield server
    server.stop()


def test_streamed_answer_and_what_was_sent(stand_in: ChatStandIn) -> None:
    chat = OpenAIChat(stand_in.url + "/v1/", "smollm2")  # a pasted /v1 URL works too
    assert chat.chat(QUESTION, 32, CancelToken()) == "Four, as the sources say."
    (request,) = stand_in.requests
    assert request["model"] == "smollm2" and request["max_tokens"] == 32
    assert request["stream"] is True and request["temperature"] == 0.0
    assert request["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is 2 + 2?"},
    ]
    assert "authorization" not in {k.lower() for k in request["_headers"]}


def test_a_server_that_ignores_stream_answers_with_one_body(stand_in: ChatStandIn) -> None:
    chat = OpenAIChat(stand_in.url, "m")
    body = '{"choices": [{"message": {"content": " Four. "}}]}'
    from mochi.server.ask.openai_chat import _read_body

    assert _read_body(body) == "Four."
    with pytest.raises(ChatError, match=r"no choices\[0\]\.message\.content"):
        _read_body('{"choices": []}')
    with pytest.raises(ChatError, match="not JSON"):
        _read_body("<html>oops</html>")
    assert chat.name == f"m at {stand_in.url}"


def test_the_api_key_comes_from_the_named_environment_variable(stand_in: ChatStandIn) -> None:
    chat = OpenAIChat(stand_in.url, "m", api_key_env="MY_KEY", environ={"MY_KEY": "s3cret"})
    chat.chat(QUESTION, 8, CancelToken())
    assert stand_in.requests[0]["_headers"]["Authorization"] == "Bearer s3cret"
    unset = OpenAIChat(stand_in.url, "m", api_key_env="MY_KEY", environ={})
    with pytest.raises(ChatError, match="api_key_env names MY_KEY, which is not set"):
        unset.chat(QUESTION, 8, CancelToken())


@pytest.mark.parametrize(
    ("status", "hint"), [(401, "api_key_env"), (404, "is \\[ask\\] model = 'm'"), (500, "")]
)
def test_http_errors_are_named(stand_in: ChatStandIn, status: int, hint: str) -> None:
    stand_in.status = status
    with pytest.raises(ChatError, match=f"answered HTTP {status}: stand-in failure.*{hint}"):
        OpenAIChat(stand_in.url, "m").chat(QUESTION, 8, CancelToken())


def test_an_unreachable_server_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChatError, match=f"cannot reach the LLM at {url}.*is the server running"):
        OpenAIChat(url, "m").chat(QUESTION, 8, CancelToken())


def test_a_silent_server_times_out() -> None:
    import socket

    with socket.socket() as listener:  # accepts, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with pytest.raises(ChatError, match="did not answer within 1 s"):
            OpenAIChat(url, "m", timeout_seconds=1).chat(QUESTION, 8, CancelToken())


def test_cancel_stops_a_streamed_answer(stand_in: ChatStandIn) -> None:
    stand_in.answer = lambda request: "word " * 200
    stand_in.delay_per_piece = 0.02  # 4 s in all
    cancel = CancelToken()
    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    with pytest.raises(GenerationCancelled):
        OpenAIChat(stand_in.url, "m").chat(QUESTION, 400, cancel)
    assert time.monotonic() - started < 2.0


class ScriptedGenerator:
    """A Generator that records its requests and answers with a fixed text."""

    def __init__(self, text: str, model_id: str = "/nowhere/model") -> None:
        self.text = text
        self.model_id = model_id
        self.requests: list[GenerationRequest] = []

    def info(self) -> ModelInfo:
        return ModelInfo(model_id=self.model_id, backend="fake", context_length=8192)

    def generate(self, request: GenerationRequest, cancel: CancelToken) -> GenerationResult:
        self.requests.append(request)
        return GenerationResult(self.text, "stop", 10, 5)

    def count_tokens(self, text: str) -> int:
        return len(text) // 4

    def load_adapter(self, name: str, path: str) -> None:
        raise NotImplementedError

    def adapters(self) -> list[str]:
        return []

    def health(self) -> BackendHealth:
        return BackendHealth(BackendState.READY)

    def close(self) -> None:
        pass


def test_local_chat_falls_back_to_chatml_and_stops_at_the_turn_end() -> None:
    generator = ScriptedGenerator(" Four.\n")
    assert LocalChat(generator).chat(QUESTION, 16, CancelToken()) == "Four."
    (request,) = generator.requests
    assert request.prompt == (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n"
    )
    assert request.prompt == chatml(QUESTION)
    assert "<|im_end|>" in request.stop and request.max_tokens == 16


def test_local_chat_uses_the_chat_template_of_the_model_folder(tmp_path: Path) -> None:
    from tokenizers import Tokenizer, models
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=Tokenizer(models.WordLevel({"<unk>": 0}, unk_token="<unk>")),
        unk_token="<unk>",
    )
    tokenizer.chat_template = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    tokenizer.save_pretrained(tmp_path)
    generator = ScriptedGenerator("Four.", model_id=str(tmp_path))
    LocalChat(generator).chat(QUESTION, 16, CancelToken())
    assert generator.requests[0].prompt == ("<system>Be brief.\n<user>What is 2 + 2?\n<assistant>")
    assert template_from_folder(tmp_path / "missing") is None


def test_the_configuration_picks_the_chat_model_or_says_what_to_set() -> None:
    local = ScriptedGenerator("x")
    assert isinstance(chat_model_for(AskConfig(), local=local), LocalChat)
    openai = chat_model_for(AskConfig(llm="openai", url="http://127.0.0.1:11434", model="m"))
    assert isinstance(openai, OpenAIChat) and openai.url == "http://127.0.0.1:11434"
    with pytest.raises(LlmNotConfigured, match=r'set \[ask\] llm = "openai" with url = '):
        chat_model_for(AskConfig(llm=""))
    with pytest.raises(LlmNotConfigured, match="local model is not available \\(no weights\\)"):
        chat_model_for(AskConfig(), local=None, local_error="no weights")
    with pytest.raises(ConfigError, match=r"ask\.url: is required when ask\.llm = 'openai'"):
        AskConfig(llm="openai")
    with pytest.raises(ConfigError, match=r"ask\.api_key_env: must name an environment variable"):
        AskConfig(api_key_env="sk-live-abc/123")
    with pytest.raises(ConfigError, match=r"ask\.candidates: must be >= ask\.max_sources"):
        AskConfig(max_sources=8, candidates=4)


class ListRetriever:
    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.calls: list[tuple[str, int, SearchFilters | None]] = []

    def retrieve(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        self.calls.append((query, k, filters))
        return self.hits[:k]


def test_ask_retrieves_prompts_with_numbered_sources_and_cites(stand_in: ChatStandIn) -> None:
    from chat_stand_in import citing_answer

    stand_in.answer = citing_answer
    hits = [
        Hit(
            "pkg/geometry.py",
            5,
            7,
            0.9,
            "def circle_area(r):\n    import math\n    return 3",
            "function",
            "python",
            "circle_area",
        ),
        Hit(
            "pkg/config.py",
            10,
            11,
            0.8,
            "def parse_config(text):\n    return {}",
            "function",
            "python",
            "parse_config",
        ),
    ]
    retriever = ListRetriever(hits)
    settings = AskSettings(max_sources=2, candidates=10)
    chat = OpenAIChat(stand_in.url, "m")
    steps: list[str] = []
    result = ask(
        "what does circle_area do?", retriever, chat, settings, CancelToken(), steps.append
    )

    assert retriever.calls == [("what does circle_area do?", 10, None)]
    (request,) = stand_in.requests
    user = request["messages"][1]["content"]
    assert sources_in(request) == [(1, "pkg/geometry.py", 5, 7), (2, "pkg/config.py", 10, 11)]
    assert "5: def circle_area(r):" in user and "11:     return {}" in user
    assert user.endswith("Question: what does circle_area do?")
    assert "[pkg/geometry.py:5]" in request["messages"][0]["content"]  # the example given

    assert [c.how for c in result.citations] == ["cited", "cited", "attributed", "attributed"]
    assert result.rejected == ("nowhere/else.py:999",)
    assert all(claim.citations for claim in result.claims)
    assert result.answer.startswith("The answer starts in pkg/geometry.py [pkg/geometry.py:5].")
    assert steps == ["retrieving sources", f"asking m at {stand_in.url}", "checking citations"]
    as_json = result.to_dict()
    assert as_json["citations"][1] == {
        "path": "pkg/config.py", "line": 10, "endLine": 10, "how": "cited", "source": 2,
        "claim": 1,
    }  # fmt: skip
    assert [s["path"] for s in as_json["sources"]] == ["pkg/geometry.py", "pkg/config.py"]


def test_no_sources_and_an_empty_question_are_errors() -> None:
    chat = LocalChat(ScriptedGenerator("x"))
    with pytest.raises(NoSources, match="index the workspace first"):
        ask("anything", ListRetriever([]), chat, AskSettings(), CancelToken())
    with pytest.raises(AskError, match="the question is empty"):
        ask("  ", ListRetriever([]), chat, AskSettings(), CancelToken())
