"""Hand a trained adapter to other runtimes: a merged safetensors model, an Ollama Modelfile."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from mochi.trainer.training.params import TrainingError


def merge_adapter(model_dir: Path, adapter_dir: Path, out_dir: Path) -> Path:
    """Fold the LoRA/DoRA weights into the base model; save it (safetensors) with its
    tokenizer into `out_dir`, written to a temporary folder first, then renamed."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    try:
        model = PeftModel.from_pretrained(base, str(adapter_dir))
    except (OSError, ValueError) as exc:
        raise TrainingError(f"cannot load the adapter {adapter_dir}: {exc}") from exc
    merged = model.merge_and_unload()
    tmp = out_dir.with_name(f".tmp-{out_dir.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp, safe_serialization=True)
    AutoTokenizer.from_pretrained(model_dir).save_pretrained(tmp)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return out_dir


def write_modelfile(model_path: Path, out_file: Path, *, template: str | None = None) -> Path:
    """An Ollama Modelfile: `FROM` the model (a merged folder or a GGUF file), the prompt
    `TEMPLATE` when given, and a `stop` parameter per end token the tokenizer declares."""
    lines = [f"FROM {model_path.resolve()}"]
    if template is not None:
        if '"""' in template:
            raise ValueError('template must not contain """ (the Modelfile quote)')
        lines.append(f'TEMPLATE """{template}"""')
    for stop in _stop_tokens(model_path):
        lines.append(f"PARAMETER stop {json.dumps(stop)}")
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out_file


def _stop_tokens(model_path: Path) -> list[str]:
    config = model_path / "tokenizer_config.json" if model_path.is_dir() else None
    if config is None or not config.is_file():
        return []
    eos = json.loads(config.read_text(encoding="utf-8")).get("eos_token")
    if isinstance(eos, dict):  # older tokenizers store an AddedToken
        eos = eos.get("content")
    return [eos] if isinstance(eos, str) and eos else []
