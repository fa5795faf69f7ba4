"""Prompts as the server builds them; the transformers model with its adapter on and off."""

from __future__ import annotations

from pathlib import Path

import pytest

from mochi.rag.prompting import ContextSnippet
from mochi.trainer.evaluation import CONFIGURATIONS, DecodingSettings, PromptCompleter, Task

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


class RecordingModel:
    """A LineModel that counts one token per character and answers a fixed text."""

    def __init__(self, answer: str = "x = os.getcwd()\nmore", fim: str | None = "qwen") -> None:
        self.answer = answer
        self.fim = fim
        self.calls: list[tuple[str, tuple[str, ...], int, bool]] = []
        self.skips: list[bool] = []

    @property
    def fim_template(self) -> str | None:
        return self.fim

    @property
    def has_adapter(self) -> bool:
        return True

    def count_tokens(self, text: str) -> int:
        return len(text)

    def generate(
        self,
        prompt: str,
        stop: tuple[str, ...],
        max_new_tokens: int,
        *,
        adapter: bool,
        skip_leading_newlines: bool = False,
    ) -> str:
        self.calls.append((prompt, stop, max_new_tokens, adapter))
        self.skips.append(skip_leading_newlines)
        return self.answer


class FixedContext:
    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def snippets(self, path: str, prefix: str) -> list[ContextSnippet]:
        self.asked.append((path, prefix))
        return [ContextSnippet("util.py", 3, "def helper():\n    return 1", "helper")]


def test_base_prompt_is_the_servers_fim_prompt() -> None:
    model = RecordingModel()
    completer = PromptCompleter(model, DecodingSettings(), FixedContext())
    assert completer.complete(TASK, CONFIGURATIONS["base"]) == "x = os.getcwd()"
    prompt, stop, max_new, adapter = model.calls[0]
    assert prompt == ("<|fim_prefix|># m.py\nimport os\n<|fim_suffix|>\nprint(x)\n<|fim_middle|>")
    assert stop[-1] == "\n" and "<|endoftext|>" in stop
    assert (max_new, adapter) == (48, False)


def test_retrieval_prompt_puts_the_snippets_first_and_lora_switches_the_adapter() -> None:
    model = RecordingModel()
    context = FixedContext()
    completer = PromptCompleter(model, DecodingSettings(), context)
    completer.complete(TASK, CONFIGURATIONS["retrieval+lora"])
    prompt, _, _, adapter = model.calls[0]
    assert prompt == (
        "<|fim_prefix|># Related code from this repository:\n"
        "# util.py:3 (helper)\ndef helper():\n    return 1\n# End of related code.\n\n"
        "# m.py\nimport os\n<|fim_suffix|>\nprint(x)\n<|fim_middle|>"
    )
    assert adapter is True
    assert context.asked == [("m.py", "import os\n")]


def test_no_fim_template_gives_a_prefix_only_prompt() -> None:
    model = RecordingModel(fim=None)
    PromptCompleter(model, DecodingSettings()).complete(TASK, CONFIGURATIONS["base"])
    assert model.calls[0][0] == "# m.py\nimport os\n"
    with pytest.raises(ValueError, match="context source"):
        PromptCompleter(model, DecodingSettings()).complete(TASK, CONFIGURATIONS["retrieval"])


def test_decoding_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="max_new_tokens"):
        DecodingSettings(max_new_tokens=0)
    with pytest.raises(ValueError, match="dtype"):
        DecodingSettings(dtype="int8")


@pytest.mark.slow
def test_transformers_model_switches_its_adapter_off_for_base(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from mochi.trainer.evaluation.transformers_model import TransformersLineModel

    torch.manual_seed(0)
    peft_model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(tiny_model_dir),
        LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False),
    )
    peft_model.save_pretrained(tmp_path / "adapter")
    plain = TransformersLineModel(tiny_model_dir, dtype="float32")
    with_adapter = TransformersLineModel(
        tiny_model_dir, adapter_dir=tmp_path / "adapter", dtype="float32"
    )
    assert plain.fim_template == "qwen"
    prompt = "<|fim_prefix|>def add(a, b):\n<|fim_suffix|>\n<|fim_middle|>"
    base_text = plain.generate(prompt, ("\n",), 12, adapter=False)
    assert with_adapter.generate(prompt, ("\n",), 12, adapter=False) == base_text
    assert with_adapter.generate(prompt, ("\n",), 12, adapter=True) != base_text
    assert "\n" not in base_text
    assert plain.count_tokens("def add") > 0
    with pytest.raises(ValueError, match="no adapter"):
        plain.generate(prompt, (), 4, adapter=True)


def test_a_completion_opening_with_a_newline_is_cut_like_the_server_cuts_it() -> None:
    model = RecordingModel(answer="\n\nx = os.getcwd()\nmore")
    completer = PromptCompleter(model, DecodingSettings(), None)
    assert completer.complete(TASK, CONFIGURATIONS["base"]) == "x = os.getcwd()"
    assert model.skips == [True]  # the task's cursor is at the start of a line
