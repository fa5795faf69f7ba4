"""Precision@5 of `mochi search` on real questions about real packages.

    python scripts/bench_search_questions.py [--workdir DIR] [--out docs/benchmarks] [--sweep]

For each question file in docs/benchmarks/search-questions/ (a package, its version,
questions and the units of its source judged to answer each one), downloads the
package's sdist from PyPI (sha256 checked), unpacks it into --workdir, indexes it with
mochi's own indexer on the embedded defaults (Qdrant Edge, all-MiniLM-L6-v2, the
workspace's config as `mochi index` reads it) and runs every question through
`WorkspaceIndex.search`, the call `mochi search QUERY -k 5` makes.

A hit is relevant when its line range overlaps a judged unit and it is not a repeat of
a unit already shown higher (a later piece of the same function, or a range that
overlaps a better hit's). Precision@5 = relevant hits in the top 5 / 5. Slots taken by
tests, release notes (CHANGELOG, HISTORY, ...), other docs and repeats are counted.
Each question runs twice: with the shipped retrieval settings, and with the ranking
rules of issue 15 turned off (`retrieval.test_penalty = 0`,
`retrieval.changelog_penalty = 0`, `retrieval.merge_units = false`), which is the
ranking mochi had before them. `--sweep` adds a grid of the two penalties, and each
package's best setting scored on the other package.

Writes docs/benchmarks/search-questions.{md,json}.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from mochi.rag.index import open_workspace_index
from mochi.rag.types import Hit
from mochi.server.config import MochiConfig, load_config

sys.path.insert(0, str(Path(__file__).parent))
from eval_history_from_pypi import download_sdist, unpack

K = 5
REPO = Path(__file__).resolve().parents[1]
RULES_OFF = {"test_penalty": 0.0, "changelog_penalty": 0.0, "merge_units": False}
SWEEP = [(t, c) for t in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6) for c in (0.0, 0.25, 0.5, 0.75)]
NOTES_NAMES = {"changelog", "changes", "history", "news", "releases", "release-notes"}


@dataclasses.dataclass(frozen=True)
class Unit:
    path: str
    start: int
    end: int
    label: str


@dataclasses.dataclass(frozen=True)
class Question:
    id: str
    group: str
    text: str
    units: tuple[Unit, ...]


# --- judged units -------------------------------------------------------------------


def _definitions(tree: ast.Module) -> Iterator[tuple[str, int, int]]:
    """(qualified name, first line with decorators, last line) of every def and class,
    also those inside `if`/`try` blocks at module or class level."""

    def walk(body: Sequence[ast.stmt], prefix: str) -> Iterator[tuple[str, int, int]]:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                yield prefix + node.name, first, node.end_lineno or node.lineno
                if isinstance(node, ast.ClassDef):
                    yield from walk(node.body, prefix + node.name + ".")
            elif isinstance(node, ast.If | ast.Try):
                blocks = [node.body, node.orelse]
                if isinstance(node, ast.Try):
                    blocks += [node.finalbody, *(h.body for h in node.handlers)]
                for block in blocks:
                    yield from walk(block, prefix)

    yield from walk(tree.body, "")


def resolve_units(root: Path, specs: Sequence[str]) -> tuple[Unit, ...]:
    """`PATH::Qualified.name` (every definition of that name) or `PATH:START-END`."""
    units: list[Unit] = []
    trees: dict[str, list[tuple[str, int, int]]] = {}
    for spec in specs:
        if "::" in spec:
            path, name = spec.split("::", 1)
            if path not in trees:
                source = (root / path).read_text(encoding="utf-8")
                trees[path] = list(_definitions(ast.parse(source)))
            found = [(a, b) for qual, a, b in trees[path] if qual == name]
            if not found:
                raise SystemExit(f"judged unit {spec} is not in {root.name}")
            units.extend(Unit(path, a, b, spec) for a, b in found)
        else:
            path, _, lines = spec.rpartition(":")
            start, _, end = lines.partition("-")
            if not (root / path).is_file():
                raise SystemExit(f"judged unit {spec}: no such file in {root.name}")
            units.append(Unit(path, int(start), int(end or start), spec))
    return tuple(units)


def load_questions(path: Path, root: Path) -> list[Question]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [
        Question(q["id"], q["group"], q["text"], resolve_units(root, q["units"]))
        for q in data["question"]
    ]


# --- scoring ------------------------------------------------------------------------


def slot_kind(hit: Hit) -> str:
    """test, notes (release notes), doc, code or other: this script's own reading of
    a path, kept apart from the rules it measures."""
    parts = PurePosixPath(hit.path).parts
    name = parts[-1].lower() if parts else ""
    if any(p in ("tests", "test", "testing") for p in parts[:-1]) or name.startswith("test_"):
        return "test"
    if name.rsplit(".", 1)[0] in NOTES_NAMES or "changelog.d" in parts:
        return "notes"
    if hit.source == "doc":
        return "doc"
    return "code" if hit.source == "code" else "other"


def _overlaps(a_path: str, a: tuple[int, int], b_path: str, b: tuple[int, int]) -> bool:
    return a_path == b_path and a[0] <= b[1] and b[0] <= a[1]


def is_repeat(hit: Hit, shown: Sequence[Hit]) -> bool:
    """The same unit as a better hit: one symbol of one file, or overlapping lines."""
    for better in shown:
        same_unit = hit.symbol and (hit.path, hit.symbol) == (better.path, better.symbol)
        lines = (hit.start_line, hit.end_line), (better.start_line, better.end_line)
        if same_unit or _overlaps(hit.path, lines[0], better.path, lines[1]):
            return True
    return False


def judge(hits: Sequence[Hit], units: Sequence[Unit]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for rank, hit in enumerate(hits):
        repeat = is_repeat(hit, hits[:rank])
        matched = [
            u.label
            for u in units
            if _overlaps(hit.path, (hit.start_line, hit.end_line), u.path, (u.start, u.end))
        ]
        rows.append(
            {
                "rank": rank + 1,
                "path": hit.path,
                "lines": [hit.start_line, hit.end_line],
                "symbol": hit.symbol,
                "kind": hit.kind,
                "slot": slot_kind(hit),
                "repeat": repeat,
                "relevant": bool(matched) and not repeat,
                "units": sorted(set(matched)),
                "score": round(hit.score, 4),
            }
        )
    return rows


def summarise(rows_by_question: Sequence[list[dict[str, Any]]]) -> dict[str, Any]:
    n = len(rows_by_question)
    slots = [row for rows in rows_by_question for row in rows]
    return {
        "questions": n,
        "precision@5": round(
            sum(sum(r["relevant"] for r in rows) / K for rows in rows_by_question) / max(n, 1), 4
        ),
        "slots": n * K,
        "tests": sum(r["slot"] == "test" for r in slots),
        "release_notes": sum(r["slot"] == "notes" for r in slots),
        "other_docs": sum(r["slot"] == "doc" for r in slots),
        "repeats": sum(r["repeat"] for r in slots),
        "questions_with_repeats": sum(any(r["repeat"] for r in rows) for rows in rows_by_question),
    }


# --- running ------------------------------------------------------------------------


def with_retrieval(config: MochiConfig, changes: dict[str, Any]) -> MochiConfig:
    known = {f.name for f in dataclasses.fields(config.retrieval)}
    kept = {k: v for k, v in changes.items() if k in known}
    return dataclasses.replace(config, retrieval=dataclasses.replace(config.retrieval, **kept))


def run_questions(
    root: Path, config: MochiConfig, embedder: Any, questions: Sequence[Question]
) -> list[dict[str, Any]]:
    per_question = []
    with open_workspace_index(root, config, embedder=embedder) as index:
        for q in questions:
            hits = index.search(q.text, K)  # what `mochi search QUERY -k 5` calls
            rows = judge(hits, q.units)
            per_question.append(
                {
                    "id": q.id,
                    "group": q.group,
                    "text": q.text,
                    "precision@5": sum(r["relevant"] for r in rows) / K,
                    "hits": rows,
                }
            )
    return per_question


def behaviour_p5(per_question: Sequence[dict[str, Any]]) -> tuple[float, int]:
    values = [q["precision@5"] for q in per_question if q["group"] == "behaviour"]
    return sum(values), len(values)


def run_package(question_file: Path, workdir: Path, sweep: bool) -> dict[str, Any]:
    meta = tomllib.loads(question_file.read_text(encoding="utf-8"))
    package, version = meta["package"], meta["version"]
    archive = download_sdist(package, version, workdir / "sdists")
    root = unpack(archive, workdir / "src" / f"{package}-{version}")
    questions = load_questions(question_file, root)
    config = dataclasses.replace(load_config(root), data_dir=str(workdir / "data"))
    started = time.perf_counter()
    with open_workspace_index(root, config) as index:
        index.sync()
        status = index.status()
        embedder = index.embedder
    indexed_s = time.perf_counter() - started
    results: dict[str, Any] = {
        "package": package,
        "version": version,
        "documents": status.documents,
        "chunks": status.chunks,
        "index_seconds": round(indexed_s, 1),
        "variants": {
            variant: run_questions(root, with_retrieval(config, changes), embedder, questions)
            for variant, changes in (("shipped", {}), ("rules off", RULES_OFF))
        },
        "sweep": [],
    }
    for test_penalty, changelog_penalty in SWEEP if sweep else ():
        changes = {"test_penalty": test_penalty, "changelog_penalty": changelog_penalty}
        answers = run_questions(root, with_retrieval(config, changes), embedder, questions)
        total, n = behaviour_p5(answers)
        results["sweep"].append(
            {
                "test_penalty": test_penalty,
                "changelog_penalty": changelog_penalty,
                "sum": total,
                "questions": n,
            }
        )
    return results


def figures(packages: Sequence[dict[str, Any]], variant: str, group: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    pooled: list[list[dict[str, Any]]] = []
    for pkg in packages:
        rows = [q["hits"] for q in pkg["variants"][variant] if q["group"] == group]
        out[pkg["package"]] = summarise(rows)
        pooled.extend(rows)
    out["pooled"] = summarise(pooled)
    return out


# --- the page -----------------------------------------------------------------------


def _fmt_hit(row: dict[str, Any]) -> str:
    mark = "✓" if row["relevant"] else ("repeat" if row["repeat"] else "·")
    label = f" {row['symbol']}" if row["symbol"] else ""
    slot = "" if row["slot"] == "code" else f" ({row['slot']})"
    return f"{mark} `{row['path']}:{row['lines'][0]}`{label}{slot}"


def render(payload: dict[str, Any]) -> str:
    shipped, off = payload["figures"]["shipped"], payload["figures"]["rules off"]
    lines = [
        "# Search: precision@5 on real questions",
        "",
        f"`{payload['command']}` — {payload['date']}, {payload['machine']}.",
        "",
        "Questions a developer new to a package asks about its behaviour, on the sdists of "
        + ", ".join(f"{p['package']} {p['version']}" for p in payload["packages"])
        + " as PyPI ships them (package, tests, release notes, README). Each question's "
        "answer was judged by reading the package's source before any search ran: "
        "[questions and judgements](search-questions/). Each package is indexed with "
        "`mochi index` defaults (Qdrant Edge, all-MiniLM-L6-v2) and each question runs "
        "through the call `mochi search QUERY -k 5` makes. A hit is relevant when it "
        "overlaps a judged unit and is not a repeat of a unit shown higher; "
        "precision@5 = relevant hits / 5.",
        "",
        "## Questions about behaviour (the goal: pooled precision@5 ≥ 0.6)",
        "",
        "| package | questions | P@5 shipped | P@5 rules off (before) | tests in top 5 "
        "(shipped / before) | release notes | other docs | repeats |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in [*(p["package"] for p in payload["packages"]), "pooled"]:
        s, o = shipped["behaviour"][name], off["behaviour"][name]
        lines.append(
            f"| {name} | {s['questions']} | **{s['precision@5']:.3f}** | {o['precision@5']:.3f} "
            f"| {s['tests']} / {o['tests']} of {s['slots']} "
            f"| {s['release_notes']} / {o['release_notes']} "
            f"| {s['other_docs']} / {o['other_docs']} | {s['repeats']} / {o['repeats']} |"
        )
    lines += [
        "",
        "## Questions that ask for tests or release notes (kept apart)",
        "",
        "These check that the rules do not hide what a question asks for.",
        "",
        "| package | questions | P@5 shipped | P@5 rules off |",
        "|---|---|---|---|",
    ]
    for name in [*(p["package"] for p in payload["packages"]), "pooled"]:
        s, o = shipped["asks-for"][name], off["asks-for"][name]
        lines.append(
            f"| {name} | {s['questions']} | {s['precision@5']:.3f} | {o['precision@5']:.3f} |"
        )
    lines += render_sweep(payload["packages"])
    lines += ["", "## Per question", ""]
    for pkg in payload["packages"]:
        before = {q["id"]: q for q in pkg["variants"]["rules off"]}
        lines += [
            f"### {pkg['package']} {pkg['version']} ({pkg['documents']} documents, "
            f"{pkg['chunks']} chunks)",
            "",
        ]
        for q in pkg["variants"]["shipped"]:
            b = before[q["id"]]
            lines.append(
                f"- **{q['text']}** ({q['group']}): P@5 {q['precision@5']:.1f} "
                f"(before {b['precision@5']:.1f})"
            )
            lines.append("  - shipped: " + "; ".join(_fmt_hit(r) for r in q["hits"]))
            lines.append("  - before: " + "; ".join(_fmt_hit(r) for r in b["hits"]))
        lines.append("")
    return "\n".join(lines)


def render_sweep(packages: Sequence[dict[str, Any]]) -> list[str]:
    """The grid of penalties (`--sweep`), and each package's best setting scored on the
    other package: how much the shipped values owe to this question set."""
    if not all(p["sweep"] for p in packages):
        return []
    names = [p["package"] for p in packages]
    grid: dict[tuple[float, float], dict[str, float]] = {}
    for pkg in packages:
        for cell in pkg["sweep"]:
            key = (cell["test_penalty"], cell["changelog_penalty"])
            row = grid.setdefault(key, {"sum": 0.0, "n": 0})
            row[pkg["package"]] = cell["sum"] / cell["questions"]
            row["sum"] += cell["sum"]
            row["n"] += cell["questions"]
    lines = [
        "",
        "## How much the penalties matter (`--sweep`)",
        "",
        "Behaviour questions' P@5 over a grid of `retrieval.test_penalty` and "
        "`retrieval.changelog_penalty`, units merged.",
        "",
        f"| test_penalty | changelog_penalty | {' | '.join(names)} | pooled |",
        "|---|---|" + "---|" * (len(names) + 1),
    ]
    for (t, c), row in sorted(grid.items()):
        cells = " | ".join(f"{row[n]:.3f}" for n in names)
        lines.append(f"| {t} | {c} | {cells} | {row['sum'] / row['n']:.3f} |")
    lines.append("")
    for chosen_on in names:
        best = max(grid, key=lambda key: (round(grid[key][chosen_on], 6), -key[0], -key[1]))
        others = ", ".join(f"{n} {grid[best][n]:.3f}" for n in names if n != chosen_on)
        lines.append(
            f"- best on {chosen_on} ({grid[best][chosen_on]:.3f}): test_penalty {best[0]}, "
            f"changelog_penalty {best[1]}; on the other package: {others}."
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "mochi-search-questions"
    )
    parser.add_argument("--questions", type=Path, default=REPO / "docs/benchmarks/search-questions")
    parser.add_argument("--out", type=Path, default=REPO / "docs/benchmarks")
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="also run a grid of test_penalty x changelog_penalty (units merged)",
    )
    args = parser.parse_args()
    import platform
    from datetime import date

    files = sorted(args.questions.glob("*.toml"))
    packages = [run_package(f, args.workdir, args.sweep) for f in files]
    payload: dict[str, Any] = {
        "command": "python scripts/bench_search_questions.py" + (" --sweep" if args.sweep else ""),
        "date": date.today().isoformat(),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "k": K,
        "packages": packages,
        "figures": {
            v: {g: figures(packages, v, g) for g in ("behaviour", "asks-for")}
            for v in ("shipped", "rules off")
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "search-questions.json").write_text(json.dumps(payload, indent=2) + "\n")
    page = render(payload)
    (args.out / "search-questions.md").write_text(page + "\n")
    print(page)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
