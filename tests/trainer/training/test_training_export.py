"""Export: a merged model that transformers loads and that computes what the peft model
computes; a GGUF file that does the same; an Ollama Modelfile; `mochi trainer export`;
next-line exact match on the EOS-only first line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def _logits(model_dir: Path, gguf_file: str | None = None) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    kwargs = {"gguf_file": gguf_file} if gguf_file else {}
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, **kwargs)
    with torch.no_grad():
        return model.eval()(input_ids=torch.tensor([[5, 17, 42, 99, 3, 250]])).logits


def test_gguf_round_trips_through_transformers(tiny_model_dir: Path, tmp_path: Path) -> None:
    """transformers' GGUF reader undoes llama.cpp's rotary permutation and rebuilds the
    tokenizer: an F32 file gives the very same logits and token ids, F16 nearly."""
    import torch
    from transformers import AutoTokenizer

    from mochi.trainer.training.gguf_export import export_gguf

    expected = _logits(tiny_model_dir)
    f32 = export_gguf(tiny_model_dir, tmp_path / "f32" / "model.gguf", dtype="f32")
    torch.testing.assert_close(_logits(f32.parent, f32.name), expected, atol=1e-6, rtol=0)
    f16 = export_gguf(tiny_model_dir, tmp_path / "f16" / "model.gguf")
    assert f16.stat().st_size < 0.7 * f32.stat().st_size
    torch.testing.assert_close(_logits(f16.parent, f16.name), expected, atol=0.05, rtol=0)
    text = "def mean(values):\n    total = sum(values)<|fim_middle|>"
    original = AutoTokenizer.from_pretrained(tiny_model_dir)
    restored = AutoTokenizer.from_pretrained(f32.parent, gguf_file=f32.name)
    assert restored(text)["input_ids"] == original(text)["input_ids"]
    assert restored.eos_token == "<|endoftext|>"
    assert not list(tmp_path.rglob(".tmp-*"))  # written through a temporary file


def test_gguf_export_names_what_it_cannot_convert(tmp_path: Path) -> None:
    from mochi.trainer.training.gguf_export import export_gguf
    from mochi.trainer.training.params import TrainingError

    (tmp_path / "config.json").write_text('{"architectures": ["GPT2LMHeadModel"]}')
    with pytest.raises(TrainingError, match=r"GPT2LMHeadModel.*convert_hf_to_gguf"):
        export_gguf(tmp_path, tmp_path / "model.gguf")
    with pytest.raises(TrainingError, match=r"config\.json is missing"):
        export_gguf(tmp_path / "nowhere", tmp_path / "model.gguf")


def test_cli_export_writes_merged_gguf_and_modelfile(
    tiny_model_dir: Path, random_adapter: Path, tmp_path: Path
) -> None:
    """`mochi trainer export` as users run it: the GGUF computes what the adapter does."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    out = tmp_path / "export"
    command = [sys.executable, "-m", "mochi.server.cli.main", "trainer", "export"]
    common = ["--base-model", str(tiny_model_dir), "--data-dir", str(tmp_path / "data")]
    done = subprocess.run(
        [
            *command,
            str(random_adapter),
            "--out",
            str(out),
            *common,
            "--gguf",
            "--gguf-dtype",
            "f32",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert f"GGUF: {out / 'model.gguf'}" in done.stdout
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    peft_model = PeftModel.from_pretrained(base, str(random_adapter)).eval()
    with torch.no_grad():
        expected = peft_model(input_ids=torch.tensor([[5, 17, 42, 99, 3, 250]])).logits
    torch.testing.assert_close(_logits(out, "model.gguf"), expected, atol=1e-4, rtol=1e-4)
    assert (out / "merged" / "model.safetensors").is_file()
    assert (out / "Modelfile").read_text().splitlines() == [
        f"FROM {(out / 'model.gguf').resolve()}",
        'PARAMETER stop "<|endoftext|>"',
    ]

    # A registry version remembers its base model: another base is refused, by name.
    version = tmp_path / "v1"
    shutil.copytree(random_adapter, version)
    (version / "manifest.json").write_text(
        json.dumps({"name": "a", "version": "v1", "base_model": "other", "base_model_hash": "0"})
    )
    refused = subprocess.run(
        [*command, str(version), "--out", str(tmp_path / "x"), *common],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert refused.returncode != 0
    assert "was trained on other" in refused.stderr
