"""`mochi eval` completes through the server's pipeline (`ServedCompleter`): the server's
prompt, context, router and post-processing decide what is scored."""

from __future__ import annotations

from pathlib import Path

import pytest
from recording_generator import RecordingGenerator

from mochi.rag.types import Hit, SearchFilters
from mochi.server.cli.served_completer import (
    ADAPTER_NAME,
    ServedCompleter,
    completion_config,
    cursor_at,
)
from mochi.trainer.evaluation import CONFIGURATIONS, DecodingSettings, Task

TASK = Task(
    id="abc:m.py:2",
    commit="abc",
    time=0,
    path="m.py",
    line=2,
    language="python",
    prefix="import os\n",
    suffix="\nprint(x)\n",
    truth="x = os.getcwd()",
)


class CharTokens(RecordingGenerator):
    """A RecordingGenerator that counts one token per character, with the served
    completer's adapter loaded."""

    def __init__(self, answer: str = "x = os.getcwd()\nmore", fim: str | None = "qwen") -> None:
        super().__init__(answer, fim=fim, loaded={ADAPTER_NAME: ""})

    def count_tokens(self, text: str) -> int:
        return len(text)


class FixedRetriever:
    def __init__(self) -> None:
        self.queries: list[str] = []

    def retrieve(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        self.queries.append(query)
        text = "def helper():\n    return 1"
        return [Hit("util.py", 3, 4, 1.0, text, "function", "python", symbol="helper")]


def test_a_task_is_the_file_without_its_line_and_the_cursor_at_its_start() -> None:
    cursor = cursor_at(TASK)
    assert cursor.text == "import os\n\nprint(x)\n"
    assert (cursor.line, cursor.character) == (1, 0)
    indented = Task(**{**TASK.to_json(), "prefix": "def f():\n    ", "api_names": ()})
    assert (cursor_at(indented).line, cursor_at(indented).character) == (1, 4)


def test_base_prompt_is_the_servers_fim_prompt_and_the_router_keeps_the_base() -> None:
    generator = CharTokens()
    completer = ServedCompleter(generator, completion_config(DecodingSettings()))
    assert completer.complete(TASK, CONFIGURATIONS["base"]) == "x = os.getcwd()"
    request = generator.requests[0]
    assert request.prompt == (
        "<|fim_prefix|># m.py\nimport os\n<|fim_suffix|>\nprint(x)\n<|fim_middle|>"
    )
    assert request.stop[-1] == "\n" and "<|endoftext|>" in request.stop
    assert (request.max_tokens, request.adapter) == (48, None)
    assert request.heal and request.skip_leading_newlines  # as the server decodes


def test_retrieval_puts_the_snippets_first_and_lora_is_chosen_by_the_router() -> None:
    generator = CharTokens()
    retriever = FixedRetriever()
    completer = ServedCompleter(generator, completion_config(DecodingSettings()), retriever)
    completer.complete(TASK, CONFIGURATIONS["retrieval+lora"])
    request = generator.requests[0]
    assert request.prompt == (
        "<|fim_prefix|># Related code from this repository:\n"
        "# util.py:3 (helper)\ndef helper():\n    return 1\n# End of related code.\n\n"
        "# m.py\nimport os\n<|fim_suffix|>\nprint(x)\n<|fim_middle|>"
    )
    assert request.adapter == ADAPTER_NAME
    assert retriever.queries == [
        "import os"
    ]  # the lines before the cursor (names < 3 chars are not queried alone)


def test_a_configuration_needs_what_it_uses() -> None:
    generator = CharTokens(fim=None)
    generator.loaded = {}
    completer = ServedCompleter(generator, completion_config(DecodingSettings()))
    completer.complete(TASK, CONFIGURATIONS["base"])
    assert generator.requests[0].prompt == "# m.py\nimport os\n"
    with pytest.raises(ValueError, match="needs the index"):
        completer.complete(TASK, CONFIGURATIONS["retrieval"])
    with pytest.raises(ValueError, match="needs an adapter"):
        completer.complete(TASK, CONFIGURATIONS["lora"])


def test_the_servers_post_processing_decides_the_prediction() -> None:
    # Opening newlines are skipped at a line start, and text that only repeats what
    # follows the cursor is no suggestion.
    generator = CharTokens(answer="\n\nx = os.getcwd()\nmore")
    completer = ServedCompleter(generator, completion_config(DecodingSettings()))
    assert completer.complete(TASK, CONFIGURATIONS["base"]) == "x = os.getcwd()"
    generator.answer = "print(x)"
    assert completer.complete(TASK, CONFIGURATIONS["base"]) == ""


def test_decoding_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="max_new_tokens"):
        DecodingSettings(max_new_tokens=0)
    with pytest.raises(ValueError, match="dtype"):
        DecodingSettings(dtype="int8")


@pytest.mark.slow
def test_the_adapter_answers_only_the_lora_configurations(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from mochi.server.cli.served_completer import served_generator

    torch.manual_seed(0)
    peft_model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    peft_model.save_pretrained(tmp_path / "adapter")
    settings = completion_config(DecodingSettings(max_new_tokens=12))
    plain = ServedCompleter(served_generator(tiny_model_dir, None, "float32"), settings)
    with_adapter = ServedCompleter(
        served_generator(tiny_model_dir, tmp_path / "adapter", "float32"), settings
    )
    task = Task(**{**TASK.to_json(), "prefix": "def add(a, b):\n", "api_names": ()})
    base_text = plain.complete(task, CONFIGURATIONS["base"])
    assert with_adapter.complete(task, CONFIGURATIONS["base"]) == base_text
    assert with_adapter.complete(task, CONFIGURATIONS["lora"]) != base_text
    assert "\n" not in base_text
    with pytest.raises(ValueError, match="needs an adapter"):
        plain.complete(task, CONFIGURATIONS["lora"])
