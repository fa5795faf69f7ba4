"""The ONNX back ends of the dense embedder: same vectors as torch (near enough), an
export made once and reused, an index that re-embeds when the back end changes, and a
missing onnxruntime that says what to install."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder

from mochi.rag.config import RagConfig
from mochi.rag.config.schema import EmbeddingConfig
from mochi.rag.embedding import onnx_export
from mochi.rag.embedding.dense import EmbeddingModelError
from mochi.rag.embedding.factory import build_dense_embedder
from mochi.rag.embedding.onnx_embedder import OnnxEmbedder
from mochi.rag.index import open_workspace_index

SNIPPETS = [
    "def add(a, b):\n    return a + b\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n"
    "    def push(self, item):\n        self.items.append(item)\n",
    "import json\n\nwith open('config.json') as f:\n    settings = json.load(f)\n",
    "for i in range(10):\n    print(i * i)\n" * 30,  # longer than max_seq_length
    "SELECT name FROM users WHERE id = ?",
    "x",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def int8(onnx_cache: Path) -> OnnxEmbedder:
    return OnnxEmbedder(cache_root=onnx_cache, variant="onnx-int8")


def cosines(a: list[list[float]], b: list[list[float]]) -> list[float]:
    return [float(c) for c in (np.asarray(a) * np.asarray(b)).sum(axis=1)]


@pytest.mark.slow
def test_int8_leaves_the_first_block_in_float32(int8: OnnxEmbedder) -> None:
    import onnx

    graph = onnx.load(str(int8.folder / onnx_export.MODEL_FILE)).graph
    first = [n.op_type for n in graph.node if "/layer.0/" in n.name]
    later = [n.op_type for n in graph.node if "/layer.3/" in n.name]
    assert first.count("MatMul") == 8 and "MatMulInteger" not in first
    assert later.count("MatMulInteger") == 6  # the weights' products; q·k and p·v stay
    assert later.count("MatMul") == 2


@pytest.mark.slow
def test_int8_vectors_are_close_to_the_torch_ones(minilm: Any, int8: OnnxEmbedder) -> None:
    torch_vectors = minilm.embed_passages(SNIPPETS)
    onnx_vectors = int8.embed_passages(SNIPPETS)
    assert int8.dim == len(onnx_vectors[0]) == 384
    assert min(cosines(torch_vectors, onnx_vectors)) >= 0.97  # "x", one token, is the least
    assert np.mean(cosines(torch_vectors, onnx_vectors)) >= 0.99
    query = "read a json file"
    assert cosines([minilm.embed_query(query)], [int8.embed_query(query)])[0] >= 0.99


@pytest.mark.slow
def test_fp32_onnx_matches_torch(minilm: Any, onnx_cache: Path) -> None:
    fp32 = OnnxEmbedder(cache_root=onnx_cache, variant="onnx")
    torch_vectors = minilm.embed_passages(SNIPPETS)
    assert min(cosines(torch_vectors, fp32.embed_passages(SNIPPETS))) >= 0.9999


@pytest.mark.slow
def test_texts_embedded_alone_are_as_close(minilm: Any, int8: OnnxEmbedder) -> None:
    """int8 activations are scaled per batch, so a text's vector depends a little on its
    batch; alone (as a query is) it stays as close to torch."""
    torch_vectors = minilm.embed_passages(SNIPPETS)
    alone = [int8.embed_passages([text])[0] for text in SNIPPETS]
    assert min(cosines(torch_vectors, alone)) >= 0.98
    assert np.mean(cosines(torch_vectors, alone)) >= 0.99


@pytest.mark.slow
def test_the_export_is_cached_and_reused(
    int8: OnnxEmbedder, onnx_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = int8.folder / onnx_export.MODEL_FILE
    before = model.stat().st_mtime_ns

    def no_export(*args: object, **kwargs: object) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export, "export", no_export)
    again = OnnxEmbedder(cache_root=onnx_cache, variant="onnx-int8")
    assert again.folder == int8.folder
    assert model.stat().st_mtime_ns == before
    assert not [p for p in onnx_cache.iterdir() if p.name.startswith(".tmp-")]
    assert again.embed_query("x") == int8.embed_query("x")


def test_a_failed_export_leaves_no_cache_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(folder: Path, out: Path, *args: object, **kwargs: object) -> None:
        (out / onnx_export.MODEL_FILE).write_bytes(b"half a model")
        raise RuntimeError("disk full")

    monkeypatch.setattr(onnx_export, "export", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        onnx_export.cached_onnx_model(tmp_path, "all-MiniLM-L6-v2", "onnx-int8")
    assert list(tmp_path.iterdir()) == []


def test_missing_onnxruntime_names_the_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import raises ImportError
    with pytest.raises(EmbeddingModelError, match="pip install onnxruntime"):
        build_dense_embedder(EmbeddingConfig(backend="onnx-int8"), tmp_path)
    with pytest.raises(EmbeddingModelError, match=re.escape("embedding.backend = 'torch'")):
        build_dense_embedder(EmbeddingConfig(backend="onnx"), tmp_path)
    # the default asks for nothing it cannot have: torch, and no cache entry
    assert "onnx" not in build_dense_embedder(EmbeddingConfig(), tmp_path).model_id
    assert list(tmp_path.iterdir()) == []


class _Renamed(HashingEmbedder):
    """The same vectors and size under another model id, as a back-end change gives."""

    def __init__(self, model_id: str) -> None:
        super().__init__(64)
        self._id = model_id

    @property
    def model_id(self) -> str:
        return self._id


def test_a_back_end_change_re_embeds_the_index(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("pkg/maths.py", "def area(r):\n    return 3.14 * r * r\n")
    git_repo.write("README.md", "# Demo\n\nComputes areas.\n")
    git_repo.commit("add files")
    config = RagConfig(data_dir=str(tmp_path / "data"))
    with open_workspace_index(git_repo.root, config, embedder=_Renamed("m")) as index:
        first = index.sync()
    with open_workspace_index(git_repo.root, config, embedder=_Renamed("m")) as index:
        assert index.sync().chunks_embedded == 0
    with open_workspace_index(git_repo.root, config, embedder=_Renamed("m+onnx-int8")) as index:
        again = index.sync()
        assert again.chunks_embedded == first.chunks_embedded > 0
        assert index.status().embedding_model == "m+onnx-int8"


@pytest.mark.slow
def test_onnx_and_torch_embedders_have_different_model_ids(minilm: Any, int8: OnnxEmbedder) -> None:
    assert minilm.model_id == "all-MiniLM-L6-v2"  # old indexes stay valid
    assert int8.model_id == "all-MiniLM-L6-v2+onnx-int8"
    assert int8.dim == minilm.dim  # so only the id tells them apart


@pytest.mark.slow
def test_auto_is_int8_on_the_cpu_and_torch_for_a_model_it_cannot_export(
    int8: OnnxEmbedder, onnx_cache: Path, tmp_path: Path
) -> None:
    auto = build_dense_embedder(EmbeddingConfig(), onnx_cache)
    assert EmbeddingConfig().backend == "auto"
    assert auto.model_id == int8.model_id == "all-MiniLM-L6-v2+onnx-int8"
    # a model folder whose pipeline has a module the ONNX back end does not run
    folder = tmp_path / "dense-head"
    (folder / "2_Dense").mkdir(parents=True)
    (folder / "modules.json").write_text(
        '[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},'
        ' {"idx": 1, "name": "1", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]'
    )
    with pytest.raises(EmbeddingModelError, match="Dense"):
        build_dense_embedder(EmbeddingConfig(model=str(folder), backend="onnx-int8"), tmp_path)
    # auto falls back to torch, whose loader is the one that now reads the folder
    with pytest.raises(EmbeddingModelError, match="cannot load embedding model") as caught:
        build_dense_embedder(EmbeddingConfig(model=str(folder)), tmp_path)
    assert "ONNX" not in str(caught.value)
