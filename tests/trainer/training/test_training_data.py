"""Tokenised samples (loss only on the completion), the seeded batch order, and the LoRA
target modules chosen per architecture."""

from __future__ import annotations

from pathlib import Path

import pytest
from training_tasks import task_a

from mochi.trainer.samples import Sample
from mochi.trainer.training.data import IGNORE_INDEX, BatchSource, collate, encode_sample
from mochi.trainer.training.targets import target_modules_for


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path) -> object:
    from mochi.trainer.training.model_setup import load_tokenizer

    return load_tokenizer(tiny_model_dir)


def test_labels_mask_the_prompt(tokenizer: object) -> None:
    sample = task_a(1)[0]
    encoded = encode_sample(tokenizer, sample, 512)
    whole = tokenizer(sample.prompt + sample.completion, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    assert encoded.input_ids == whole  # encoded as one text, as the model reads it
    masked = encoded.labels.count(IGNORE_INDEX)
    assert 0 < masked < len(whole)
    assert encoded.labels == [IGNORE_INDEX] * masked + whole[masked:]
    # the masked tokens are the prompt's, the first trained token holds the completion's start
    decode = tokenizer.decode  # type: ignore[attr-defined]
    assert sample.prompt.startswith(decode(whole[:masked]))
    assert decode(whole[masked:]).endswith(decode(whole[-1:]))
    assert whole[-1] == tokenizer.eos_token_id  # type: ignore[attr-defined]


def test_the_token_across_the_boundary_is_trained_as_healing_generates_it(
    tokenizer: object,
) -> None:
    # "\n" + "    return": the merged newline-and-indent token is the first one trained on
    sample = Sample(prompt="def add(a, b):\n", completion="    return a + b\n", kind="fim")
    encoded = encode_sample(tokenizer, sample, 64)
    decode = tokenizer.decode  # type: ignore[attr-defined]
    first = encoded.labels.index(next(x for x in encoded.labels if x != IGNORE_INDEX))
    assert decode(encoded.input_ids[:first]) == "def add(a, b):"
    assert decode(encoded.input_ids[first : first + 1]).startswith("\n ")
    assert decode(encoded.input_ids) == sample.prompt + sample.completion


def test_too_long_cuts_the_prompt_from_the_left(tokenizer: object) -> None:
    sample = Sample(prompt="x = 1\n" * 50 + "y = 2\n", completion="return y\n", kind="fim")
    encoded = encode_sample(tokenizer, sample, 16)
    trained = [x for x in encoded.labels if x != IGNORE_INDEX]
    assert len(encoded.input_ids) == 16
    assert encoded.input_ids[-len(trained) :] == trained
    assert tokenizer.decode(trained).endswith("return y\n")  # type: ignore[attr-defined]
    assert tokenizer.decode(encoded.input_ids).endswith("y = 2\nreturn y\n")  # type: ignore[attr-defined]
    assert encoded.labels.count(IGNORE_INDEX) == 16 - len(trained)


def test_padding_carries_no_loss(tokenizer: object) -> None:
    short, long = (
        encode_sample(tokenizer, s, 512) for s in (task_a(1)[0], Sample("#\n", "a\n" * 9, "fim"))
    )
    batch = collate([short, long], pad_id=0)
    pad = batch["attention_mask"] == 0
    assert pad.any()
    assert (batch["labels"][pad] == IGNORE_INDEX).all()


def test_batches_are_a_function_of_seed_and_step(tokenizer: object) -> None:
    encoded = [encode_sample(tokenizer, s, 64) for s in task_a(10)]
    replay = [encode_sample(tokenizer, s, 64) for s in task_a(3, offset=50)]

    def source(seed: int) -> BatchSource:
        return BatchSource(
            encoded, replay, batch_size=4, grad_accum=2, replay_ratio=0.25, seed=seed, pad_id=0
        )

    first, again, other = source(1), source(1), source(2)
    assert first.replay_per_batch == 1 and first.task_per_batch == 3
    for step in (7, 0, 3):  # any order: no hidden state decides the batch
        for micro in (0, 1):
            assert first.get(step, micro)["input_ids"].equal(again.get(step, micro)["input_ids"])
    drawn = [first.get(s, m)["input_ids"].tolist() for s in range(4) for m in range(2)]
    assert drawn != [other.get(s, m)["input_ids"].tolist() for s in range(4) for m in range(2)]
    assert first.position(5) == 5 * 2 * 3


def test_target_modules_per_architecture(tiny_model_dir: Path) -> None:
    from torch import nn
    from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel

    llama = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    assert target_modules_for(llama) == (
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"
    )  # fmt: skip
    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=50))
    assert target_modules_for(gpt2) == ("c_attn", "c_proj", "c_fc")

    class Unknown(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4))
            self.lm_head = nn.Linear(4, 10)

        def get_output_embeddings(self) -> nn.Module:
            return self.lm_head

    assert target_modules_for(Unknown()) == ("encoder.0", "encoder.2")


def test_explicit_targets_and_gpt2_get_lora(tiny_model_dir: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=50))
    peft_model = get_peft_model(
        gpt2, LoraConfig(r=2, target_modules=list(target_modules_for(gpt2)))
    )
    adapted = {
        n.split(".lora_A")[0].rsplit(".", 1)[-1]
        for n, _ in peft_model.named_parameters()
        if "lora_A" in n
    }
    assert adapted == {"c_attn", "c_proj", "c_fc"}
