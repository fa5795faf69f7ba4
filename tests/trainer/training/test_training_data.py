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
    prompt_ids = tokenizer(sample.prompt, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    completion_ids = tokenizer(sample.completion, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    assert encoded.input_ids == prompt_ids + completion_ids
    assert encoded.labels == [IGNORE_INDEX] * len(prompt_ids) + completion_ids
    assert completion_ids[-1] == tokenizer.eos_token_id  # type: ignore[attr-defined]


def test_too_long_cuts_the_prompt_from_the_left(tokenizer: object) -> None:
    sample = Sample(prompt="x = 1\n" * 50 + "y = 2\n", completion="return y\n", kind="fim")
    completion_ids = tokenizer(sample.completion, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
    encoded = encode_sample(tokenizer, sample, 16)
    assert len(encoded.input_ids) == 16
    assert encoded.input_ids[-len(completion_ids) :] == completion_ids
    assert tokenizer.decode(encoded.input_ids[: 16 - len(completion_ids)]).endswith("y = 2\n")  # type: ignore[attr-defined]
    assert encoded.labels.count(IGNORE_INDEX) == 16 - len(completion_ids)


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
