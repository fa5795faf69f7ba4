"""The token memory's store, search and sync (`mochi.rag.memory`), with a stand-in
encoder (deterministic vectors from the text; the model is not what is tested here —
tests/server/test_token_memory_decoding.py runs a real one)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from git_repo import GitRepo

from mochi.rag.memory import MemoryStore, TokenNeighbours, memory_text, sync_memory
from mochi.rag.memory.store import MANIFEST, FileEntry
from mochi.rag.secrets import secret_filter
from mochi.rag.sources import WorkspaceSource

DIM = 8


class WordEncoder:
    """One 'token' per word; the key of a position is a hash vector of the word before."""

    def __init__(self, identity: str = "words-v1") -> None:
        self.identity = identity
        self.read: list[str] = []

    def encode(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        self.read.append(text)
        words = text.split()
        keys = np.stack([_vector(w) for w in words[:-1]]) if len(words) > 1 else np.zeros((0, DIM))
        values = np.array([len(w) for w in words[1:]], dtype=np.int32)
        return keys.astype(np.float16), values


def _vector(word: str) -> np.ndarray:
    digest = hashlib.sha256(word.encode()).digest()
    return np.frombuffer(digest[:DIM], dtype=np.uint8).astype(np.float32) / 255.0


def _sync(store: MemoryStore, root: Path, encoder: WordEncoder, **kwargs: object):  # type: ignore[no-untyped-def]
    return sync_memory(store, WorkspaceSource(root), secret_filter(), encoder, **kwargs)  # type: ignore[arg-type]


def test_only_changed_code_files_are_read_again(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("a.py", "alpha beta gamma\n")
    git_repo.write("b.py", "delta epsilon\n")
    git_repo.write("notes.md", "prose is not code\n")
    git_repo.commit("two files")
    encoder = WordEncoder()
    store = MemoryStore(tmp_path / "memory", encoder.identity)
    first = _sync(store, git_repo.root, encoder)
    assert (first.files, first.encoded, first.removed) == (2, 2, 0)
    assert all("prose" not in text for text in encoder.read)
    assert encoder.read[0] == memory_text("a.py", "alpha beta gamma\n", "python")
    again = _sync(store, git_repo.root, encoder)
    assert (again.encoded, again.files) == (0, 2)
    git_repo.write("a.py", "alpha beta gamma zeta\n")
    (git_repo.root / "b.py").unlink()
    git_repo.write("c.py", "delta epsilon\n")  # its path line is read too: a new text
    changed = _sync(store, git_repo.root, encoder)
    assert (changed.encoded, changed.removed, changed.files) == (2, 1, 2)
    assert set(store.files()) == {"a.py", "c.py"}
    keys, values = store.arrays()
    assert keys.shape[1] == DIM and len(values) == keys.shape[0]


def test_secrets_never_reach_the_memory(git_repo: GitRepo, tmp_path: Path) -> None:
    key = "AKIAIOSFODNN7EXAMPLE"
    git_repo.write("creds.py", f'KEY_ID = "{key}"\nprint(KEY_ID)\n')
    git_repo.write(".env", "TOKEN=abc\n")
    git_repo.commit("creds")
    encoder = WordEncoder()
    _sync(MemoryStore(tmp_path / "memory", encoder.identity), git_repo.root, encoder)
    assert encoder.read and all(key not in text and "TOKEN" not in text for text in encoder.read)


def test_a_memory_of_another_encoder_is_started_again(git_repo: GitRepo, tmp_path: Path) -> None:
    git_repo.write("a.py", "alpha beta gamma\n")
    git_repo.commit("a")
    _sync(MemoryStore(tmp_path / "m", "words-v1"), git_repo.root, WordEncoder())
    other = WordEncoder("words-v2")
    store = MemoryStore(tmp_path / "m", other.identity)
    assert store.files() == {}
    with pytest.raises(ValueError, match="holds keys of"):
        _sync(store, git_repo.root, WordEncoder("words-v1"))
    assert _sync(store, git_repo.root, other).encoded == 1


def test_a_crash_before_the_manifest_keeps_the_last_memory(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path / "m", "e")
    keys, values = np.ones((3, DIM), dtype=np.float16), np.array([1, 2, 3], dtype=np.int32)
    store.put_block("aa", keys, values)
    store.commit({"a.py": FileEntry("f1", "aa")})
    store.put_block("bb", keys * 2, values)  # written, but the manifest never named it
    (store.folder / "blocks" / ".tmp-half.npz").write_bytes(b"half a block")
    reopened = MemoryStore(tmp_path / "m", "e")
    assert reopened.files() == {"a.py": FileEntry("f1", "aa")}
    assert reopened.collect_garbage() == 2
    assert sorted(p.name for p in (store.folder / "blocks").iterdir()) == ["aa.npz"]
    with pytest.raises(ValueError, match="no block"):
        reopened.commit({"b.py": FileEntry("f2", "cc")})
    # a manifest naming a lost block: that file is read again on the next sync
    data = json.loads((store.folder / MANIFEST).read_text())
    data["files"]["x.py"] = ["f3", "dd"]
    (store.folder / MANIFEST).write_text(json.dumps(data))
    assert set(MemoryStore(tmp_path / "m", "e").files()) == {"a.py"}


def test_cancelling_keeps_what_was_read(git_repo: GitRepo, tmp_path: Path) -> None:
    for i in range(5):
        git_repo.write(f"m{i}.py", f"word{i} other{i} more{i}\n")
    git_repo.commit("five")
    encoder = WordEncoder()
    store = MemoryStore(tmp_path / "m", encoder.identity)
    report = _sync(store, git_repo.root, encoder, should_cancel=lambda: len(encoder.read) >= 2)
    assert report.cancelled and report.encoded == 2
    assert len(MemoryStore(tmp_path / "m", encoder.identity).files()) == 2
    assert _sync(store, git_repo.root, encoder).encoded == 3


def test_the_vote_is_a_softmax_of_the_nearest_keys_per_token() -> None:
    keys = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 3.0]], dtype=np.float32)
    values = np.array([7, 7, 9], dtype=np.int32)
    near = TokenNeighbours(keys, values)
    distances, tokens = near.search(np.array([0.0, 0.0]), 2)
    assert distances.tolist() == [0.0, 1.0] and tokens.tolist() == [7, 7]
    found, probs = near.vote(np.array([0.0, 0.0]), 3, temperature=1.0)
    weights = np.exp([0.0, -1.0, -9.0])
    weights /= weights.sum()
    assert found.tolist() == [7, 9]
    assert probs == pytest.approx([weights[0] + weights[1], weights[2]])
    empty = TokenNeighbours(np.zeros((0, 2), dtype=np.float32), np.zeros(0, dtype=np.int32))
    assert empty.vote(np.zeros(2), 4, 1.0)[0].size == 0
    with pytest.raises(ValueError, match="temperature"):
        near.vote(np.zeros(2), 1, 0.0)


def test_a_large_memory_is_searched_approximately_but_finds_exact_copies() -> None:
    rng = np.random.default_rng(0)
    keys = rng.normal(size=(5000, 16)).astype(np.float32)
    values = np.arange(5000, dtype=np.int32)
    near = TokenNeighbours(keys, values, exact_limit=1000, probes=8)
    hits = sum(int(near.search(keys[i], 1)[1][0] == i) for i in range(0, 5000, 100))
    assert hits >= 45  # of 50: an inverted-file index, searched in 8 of its lists
