"""Expert sets for routing tests: publishing one as a train-experts job publishes it
(experts/publish.py), and the two-domain repository of the end-to-end tests (SQL queries
and CSS-like styling, which read nothing alike) with its experts' centroids embedded by
the real MiniLM."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from git_repo import GitRepo

from mochi.rag.routing.expert_set import ExpertCard, ExpertSet, write_expert_set
from mochi.rag.routing.features import FEATURE_VERSION
from mochi.server.lsp_client import MochiClient
from mochi.trainer.experts.publish import ExpertSetRegistry, PublishedSet, SetRecord


def publish_set(
    sets: Path,
    cards: Iterable[ExpertCard],
    name: str = "default",
    *,
    commit: str = "abc",
    feature_version: int = 0,
) -> PublishedSet:
    """The next version of set `name` in the registry at `sets`, in service."""
    expert_set = ExpertSet("", "directory", "tiny", tuple(cards), None, feature_version)
    return ExpertSetRegistry(sets).publish(name, expert_set, SetRecord("job", commit, "fp"))


def adapter_folders(root: Path, names: Iterable[str]) -> dict[str, Path]:
    """An empty folder per adapter name under `root` (enough for publish and a stand-in
    generator)."""
    folders = {name: root / name for name in names}
    for folder in folders.values():
        folder.mkdir(parents=True)
    return folders


# -- the two-domain repository ----------------------------------------------------------

DOMAINS: dict[str, dict[str, str]] = {
    "queries": {
        "queries/users.py": 'def active_users(db):\n    return db.execute(\n        "SELECT id, '
        'name FROM users WHERE active = 1 ORDER BY name"\n    ).fetchall()\n',
        "queries/orders.py": 'def order_totals(db):\n    sql = "SELECT customer_id, SUM(total) '
        'FROM orders GROUP BY customer_id HAVING SUM(total) > 100"\n    return db.execute(sql)'
        ".fetchall()\n",
        "queries/joins.py": 'def team_members(db, team):\n    return db.execute(\n        "SELECT '
        'u.name FROM users u JOIN members m ON m.user_id = u.id WHERE m.team = ?",\n        '
        "(team,),\n    ).fetchall()\n",
    },
    "styles": {
        "styles/buttons.py": 'BUTTON = {\n    "background-color": "#3366ff",\n    "border-radius":'
        ' "4px",\n    "padding": "8px 16px",\n    "font-weight": "bold",\n}\n',
        "styles/layout.py": 'PAGE = {\n    "display": "flex",\n    "margin": "0 auto",\n    '
        '"max-width": "960px",\n    "justify-content": "space-between",\n}\n',
        "styles/theme.py": 'DARK = {\n    "color": "#eeeeee",\n    "background": "#111111",\n    '
        '"font-family": "Inter, sans-serif",\n    "line-height": "1.5",\n}\n',
    },
}
EXPERT = {"queries": "alpha", "styles": "beta"}
# Where the completions are asked for: a new file in each folder, cursor at its end.
CURSORS = {
    "queries": (
        "queries/report.py",
        'def unpaid_invoices(db):\n    return db.execute(\n        "SELECT id FROM invoices WHERE'
        " paid = 0 AND due < DATE('now')\"\n    ).",
    ),
    "styles": (
        "styles/cards.py",
        'CARD = {\n    "border": "1px solid #dddddd",\n    "border-radius": "8px",\n    "padding":'
        ' "12px",\n    "box-shadow": ',
    ),
}


def domain_repo(root: Path, domains: dict[str, dict[str, str]] = DOMAINS) -> GitRepo:
    """A git repository at `root` holding the files of `domains`, committed."""
    repo = GitRepo.create(root)
    for files in domains.values():
        for rel, text in files.items():
            repo.write(rel, text)
    repo.commit("two domains")
    return repo


def centroid(embedder: Any, texts: Sequence[str]) -> tuple[float, ...]:
    """The normalised mean of the normalised passage embeddings of `texts`."""
    vectors = np.asarray(embedder.embed_passages(list(texts)), dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    mean = vectors.mean(axis=0)
    return tuple(float(v) for v in mean / np.linalg.norm(mean))


def domain_centroids(
    embedder: Any, domains: dict[str, dict[str, str]] = DOMAINS
) -> dict[str, tuple[float, ...]]:
    return {domain: centroid(embedder, list(files.values())) for domain, files in domains.items()}


def domain_expert_set(folder: Path, embedder: Any, adapters: dict[str, Path]) -> Path:
    """An expert set in `folder`: one expert per domain (EXPERT), at its adapter (absolute)
    and its domain's centroid."""
    centroids = domain_centroids(embedder)
    cards = tuple(
        ExpertCard(
            name=EXPERT[domain],
            adapter=str(adapters[EXPERT[domain]]),
            version="v1",
            languages=("python",),
            paths=(f"{domain}/*",),
            samples=len(files),
            centroid=centroids[domain],
        )
        for domain, files in DOMAINS.items()
    )
    write_expert_set(folder, ExpertSet("v1", "directory", "tiny", cards, None, FEATURE_VERSION, {}))
    return folder


def last_line_end(text: str) -> tuple[int, int]:
    """The (line, character) of the end of `text`."""
    lines = text.split("\n")
    return len(lines) - 1, len(lines[-1])


async def completion_by(client: MochiClient, uri: str, text: str, expert: str | None) -> str:
    """The inline completion at the end of `text` with `expert` pinned (None: routed)."""
    await client.command("mochi.selectExpert", expert)
    completion = await client.inline(uri, *last_line_end(text))
    timing = (await client.command("mochi.timings"))[-1]
    assert not timing["empty"], "the tiny model suggested nothing"
    return completion or ""
