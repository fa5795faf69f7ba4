"""The invariant every crash and edit test checks: store = manifest = files, and every
point carries its neighbourhood density (the default configuration keeps them)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from mochi.rag.file_names import display_name
from mochi.rag.index import WorkspaceIndex
from mochi.rag.store.schema import DENSITY_FIELD


def assert_consistent(
    index: WorkspaceIndex,
    root: Path,
    expected_files: set[str] | None = None,
    densities: bool = True,
) -> None:
    store_ids = set(index.store.iter_ids())
    manifest_ids = index.manifest.all_chunk_ids()
    assert store_ids == manifest_ids, (
        f"store has {len(store_ids - manifest_ids)} extra, "
        f"misses {len(manifest_ids - store_ids)} of the manifest"
    )
    assert not index.manifest.pending()
    docs = index.manifest.docs("workspace")
    if expected_files is not None:
        assert set(docs) == expected_files
    for key, row in docs.items():
        path = root / key
        assert path.is_file(), f"manifest lists {key}, which no longer exists"
        assert row.content_hash == hashlib.sha256(path.read_bytes()).hexdigest(), key
    payloads = index.store.get_payloads(sorted(store_ids))
    by_doc: dict[str, set[str]] = {}
    for pid, payload in payloads.items():
        by_doc.setdefault(str(payload["path"]), set()).add(pid)
    for key in docs:  # a payload shows the name (U+FFFD for a byte that is not UTF-8)
        chunk_ids = {c.id for c in index.manifest.chunks_of(key)}
        assert by_doc.get(display_name(key), set()) == chunk_ids, key
    if densities:
        lacking = [pid for pid, payload in payloads.items() if DENSITY_FIELD not in payload]
        assert not lacking, f"{len(lacking)} points without a density"
