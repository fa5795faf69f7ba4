"""Token healing: which prompts are healed, and which first tokens they allow."""

from __future__ import annotations

import pytest

from mochi.rag.prompting.healing import TokenHealer

# id:   0        1      2        3         4       5     6          7
TEXTS = ["<eos>", "\n", "\n   ", "\n\n", " return", "x", "\ufffd", " "]


def test_the_last_token_is_taken_back_and_its_extensions_allowed() -> None:
    healer = TokenHealer(TEXTS, special_ids=[0])
    healing = healer.heal([5, 1])
    assert healing is not None
    assert healing.prompt_ids == [5]
    assert healing.text == "\n"
    assert healing.allowed == (1, 2, 3)  # "\n" itself stays allowed
    assert healing.trim("\n   ") == "   "
    assert healing.trim("x") == "x"  # only a leading copy of the text is removed


def test_prompts_that_healing_cannot_change_are_left_alone() -> None:
    healer = TokenHealer(TEXTS, special_ids=[0])
    assert healer.heal([1]) is None  # nothing would be left of the prompt
    assert healer.heal([5, 0]) is None  # a special token (a FIM marker) ends the prompt
    assert healer.heal([5, 6]) is None  # part of a multi-byte character
    assert healer.heal([1, 4]) is None  # no other token starts with " return"
    assert healer.heal([5, 99]) is None  # not in the vocabulary


def test_extensions_never_include_special_tokens() -> None:
    healer = TokenHealer(["", "a", "ab", "abc"], special_ids=[3])
    healing = healer.heal([0, 1])
    assert healing is not None and healing.allowed == (1, 2)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> object:
    from tiny_model import build_tiny_llama
    from transformers import AutoTokenizer

    folder = build_tiny_llama(tmp_path_factory.mktemp("tiny"))
    return AutoTokenizer.from_pretrained(str(folder))


def test_a_byte_level_tokenizer_heals_a_line_start(tokenizer: object) -> None:
    healer = TokenHealer.for_tokenizer(tokenizer)
    ids = tokenizer("def add(a, b):\n")["input_ids"]  # type: ignore[operator]
    healing = healer.heal(ids)
    assert healing is not None and healing.text == "\n"
    allowed = [tokenizer.decode([i]) for i in healing.allowed]  # type: ignore[attr-defined]
    assert all(text.startswith("\n") for text in allowed)
    # the merged newline + indentation token that training text holds is among them
    merged = tokenizer("def add(a, b):\n    return a")["input_ids"]  # type: ignore[operator]
    boundary = merged[len(healing.prompt_ids)]
    assert boundary in healing.allowed and tokenizer.decode([boundary]).startswith("\n ")  # type: ignore[attr-defined]
