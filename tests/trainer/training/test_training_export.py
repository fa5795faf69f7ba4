"""Export: a merged model that transformers loads and that computes what the peft model
computes; an Ollama Modelfile; next-line exact match on the EOS-only first line."""

from __future__ import annotations

from pathlib import Path

import pytest

from mochi.trainer.training.export import merge_adapter, write_modelfile


@pytest.fixture(scope="module")
def random_adapter(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(3)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "down_proj"], init_lora_weights=False
    )
    folder = tmp_path_factory.mktemp("adapter")
    get_peft_model(base, config).save_pretrained(str(folder))
    return folder


def test_merged_model_matches_the_peft_model(
    tiny_model_dir: Path, random_adapter: Path, tmp_path: Path
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    merged_dir = merge_adapter(tiny_model_dir, random_adapter, tmp_path / "merged")
    assert (merged_dir / "model.safetensors").is_file() and (
        merged_dir / "tokenizer.json"
    ).is_file()
    merged = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
    assert not any("lora" in name for name, _ in merged.named_parameters())
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    peft_model = PeftModel.from_pretrained(base, str(random_adapter)).eval()
    ids = torch.tensor([[5, 17, 42, 99, 3, 250]])
    with torch.no_grad():
        expected, got = peft_model(input_ids=ids).logits, merged(input_ids=ids).logits
        plain = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(input_ids=ids).logits
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(plain, expected, atol=1e-3)  # the adapter does change the output


def test_modelfile(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = write_modelfile(tiny_model_dir, tmp_path / "Modelfile", template="{{ .Prompt }}")
    assert out.read_text().splitlines() == [
        f"FROM {tiny_model_dir.resolve()}",
        'TEMPLATE """{{ .Prompt }}"""',
        'PARAMETER stop "<|endoftext|>"',
    ]
    plain = write_modelfile(tmp_path / "model.gguf", tmp_path / "plain" / "Modelfile")
    assert plain.read_text() == f"FROM {(tmp_path / 'model.gguf').resolve()}\n"
    with pytest.raises(ValueError, match="template"):
        write_modelfile(tiny_model_dir, tmp_path / "bad", template='say """hi"""')


def test_expected_line_drops_special_tokens(tiny_model_dir: Path) -> None:
    from mochi.trainer.training.evaluate import expected_line
    from mochi.trainer.training.model_setup import load_tokenizer

    tokenizer = load_tokenizer(tiny_model_dir)
    assert expected_line(tokenizer, "<|endoftext|>") == ""
    assert expected_line(tokenizer, "return a + b  \n    pass\n<|endoftext|>") == "return a + b"
    assert expected_line(tokenizer, "x = 1<|endoftext|>") == "x = 1"


def test_next_line_exact_match_counts_a_memorised_line(tiny_model_dir: Path) -> None:
    """A model whose greedy continuation is known is scored right: the tiny random model's
    own greedy first line is an exact match, a different line is not."""
    import torch
    from transformers import AutoModelForCausalLM

    from mochi.trainer.samples import Sample
    from mochi.trainer.training.evaluate import _next_line, evaluate
    from mochi.trainer.training.model_setup import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    tokenizer = load_tokenizer(tiny_model_dir)
    own = _next_line(model.eval(), tokenizer, "def add(a, b):\n", 8, 512)
    samples = [
        Sample("def add(a, b):\n", own + "\n<|endoftext|>", "fim"),
        Sample("def add(a, b):\n", own + "zzz\n<|endoftext|>", "fim"),
    ]
    scores = evaluate(model, tokenizer, samples, max_new_tokens=8)
    assert scores.count == 2 and scores.next_line_em == 0.5
    assert evaluate(model, tokenizer, samples, max_new_tokens=8, limit=1).count == 1
