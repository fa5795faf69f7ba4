"""Hand a trained adapter to other runtimes: a merged safetensors model, a GGUF file, an
Ollama Modelfile."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from mochi.trainer.registry.base_model import base_model_fingerprint
from mochi.trainer.registry.manifest import MANIFEST_FILE, Manifest
from mochi.trainer.training.gguf_export import GgufDtype, export_gguf
from mochi.trainer.training.params import TrainingError


@dataclass(frozen=True, slots=True)
class ExportResult:
    merged: Path  # the merged model folder (safetensors + tokenizer)
    gguf: Path | None
    modelfile: Path


def export_adapter(
    adapter_dir: Path,
    base_dir: Path,
    out_dir: Path,
    *,
    gguf: bool = False,
    gguf_dtype: GgufDtype = "f16",
) -> ExportResult:
    """`out_dir/merged/`, `out_dir/model.gguf` (when asked) and `out_dir/Modelfile` (FROM
    the GGUF when there is one, else the merged folder) for a peft adapter on `base_dir`;
    a full fine-tune's folder (no adapter_config.json) is exported as it is. An adapter
    version from the registry is checked against the base model it was trained on."""
    if not adapter_dir.is_dir():
        raise TrainingError(f"{adapter_dir} is not a folder")
    if (adapter_dir / MANIFEST_FILE).is_file():
        manifest = Manifest.read(adapter_dir)
        if manifest.base_model_hash and manifest.base_model_hash != base_model_fingerprint(
            base_dir
        ):
            raise TrainingError(
                f"{adapter_dir} was trained on {manifest.base_model} "
                f"(sha256 {manifest.base_model_hash[:12]}), not on {base_dir}: pass that "
                "model with --base-model"
            )
    merged = out_dir / "merged"
    if (adapter_dir / "adapter_config.json").is_file():
        merge_adapter(base_dir, adapter_dir, merged)
    elif (adapter_dir / "config.json").is_file():
        shutil.rmtree(merged, ignore_errors=True)
        shutil.copytree(adapter_dir, merged, ignore=shutil.ignore_patterns(MANIFEST_FILE))
    else:
        raise TrainingError(
            f"{adapter_dir} holds neither a peft adapter (adapter_config.json) nor a model "
            "(config.json)"
        )
    gguf_file = export_gguf(merged, out_dir / "model.gguf", dtype=gguf_dtype) if gguf else None
    modelfile = write_modelfile(gguf_file or merged, out_dir / "Modelfile")
    if gguf_file is not None:  # the GGUF carries no tokenizer_config.json: stop on EOS
        _append_stops(modelfile, _stop_tokens(merged))
    return ExportResult(merged, gguf_file, modelfile)


def _append_stops(modelfile: Path, stops: list[str]) -> None:
    if stops:
        lines = [f"PARAMETER stop {json.dumps(stop)}" for stop in stops]
        modelfile.write_text(modelfile.read_text(encoding="utf-8") + "\n".join(lines) + "\n")


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
