"""A tiny random Llama with a tiny byte-level BPE tokenizer (FIM tokens included), built
in seconds; shared by the server and trainer tests."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mochi.server.generation.llamacpp_backend import LlamaCppGenerator
    from mochi.server.generation.transformers_backend import TransformersGenerator

CODE_CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "def mean(values):\n    total = sum(values)\n    return total / len(values)\n",
    "class Point:\n    def __init__(self, x, y):\n        self.x = x\n        self.y = y\n",
    "for item in items:\n    if item is None:\n        continue\n    print(item)\n",
    "import os\nfrom pathlib import Path\n\nROOT = Path(__file__).parent\n",
    "while queue:\n    node = queue.pop()\n    seen.add(node)\n",
    "try:\n    value = int(text)\nexcept ValueError:\n    value = 0\n",
]
# Prompts the tiny model's back ends are compared on.
PROMPTS = (
    "def mean(values):\n    total = sum(values)\n",
    "class Point:\n    def __init__(self, x, y):\n",
    "for item in items:\n    if item is None:\n",
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"]


def build_tiny_llama(folder: Path) -> Path:
    """A 2-layer random Llama (hidden 64, 4 heads) and a 400-token byte-level BPE tokenizer."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder.mkdir(parents=True, exist_ok=True)
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


def tiny_transformers(model_dir: Path, adapters: dict[str, Path]) -> TransformersGenerator:
    """A TransformersGenerator on the tiny Llama in float32, with `adapters` loaded."""
    from mochi.server.generation.transformers_backend import TransformersGenerator

    return TransformersGenerator(
        str(model_dir),
        dtype="float32",
        adapters={name: str(path) for name, path in adapters.items()},
    )


def tiny_llamacpp(gguf: Path, adapters: dict[str, Path]) -> LlamaCppGenerator:
    """A LlamaCppGenerator on the tiny Llama's GGUF, one thread, with `adapters` loaded."""
    from mochi.server.generation.llamacpp_backend import LlamaCppGenerator

    return LlamaCppGenerator(
        str(gguf),
        adapters={name: str(path) for name, path in adapters.items()},
        threads=1,
    )
