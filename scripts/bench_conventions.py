"""Convention diagnostics on commit replay: do the lines mochi finds unusual get changed?

For sampled commits C of a real git history (first parent), for Python files at C from
which one of the next K commits deletes or changes lines, every judged line (code, not
blank, not only a comment, at least 3 tokens) gets the surprise score `mochi check`
uses (mean nats per token under the default model, SmolLM2-135M, given the file above
it) and the naming finding (0/1, the
repository's naming statistics taken from all Python files at C). A line is labelled 1
when one of the next K commits changes or deletes it (each commit's diff followed line by
line, so a line changed and changed back counts), else 0. Reported: ROC AUC of each score
with a 95 % bootstrap interval over files (lines of one file are not independent), beside
a plain baseline (line length), and the counts and time.

    python scripts/bench_conventions.py --repo . --commits 8 --files 5 --horizon 10

Writes docs/benchmarks/conventions.{md,json} (and .png when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mochi.server.assist.conventions.check import naming_findings
from mochi.server.assist.conventions.findings import CheckSettings
from mochi.server.assist.conventions.norms import RepositoryNorms, naming_counts
from mochi.server.assist.conventions.surprise import line_surprises, score_text
from mochi.server.generation.scoring import Scorer
from mochi.server.generation.types import CancelToken

OUT = Path(__file__).resolve().parents[1] / "docs" / "benchmarks" / "conventions"
HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.M)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, errors="replace"
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def show(repo: Path, commit: str, path: str) -> str | None:
    done = subprocess.run(
        ["git", "-C", str(repo), "show", f"{commit}:{path}"],
        capture_output=True,
        text=True,
        errors="replace",
    )
    return done.stdout if done.returncode == 0 else None


def changed_lines(repo: Path, commits: list[str], path: str, count: int) -> set[int]:
    """Lines (0-based, of the file at commits[0]) that commits[1:] change or delete,
    followed through each commit's -U0 diff."""
    alive = {line: line for line in range(count)}  # current line -> original line
    touched: set[int] = set()
    for before, after in itertools.pairwise(commits):
        diff = git(repo, "diff", "-U0", "--no-renames", before, after, "--", path)
        if not diff:
            continue
        if show(repo, after, path) is None:  # deleted: every line still there goes
            touched.update(alive.values())
            return touched
        hunks = [
            (int(a) - 1, int(b or 1), int(c) - 1, int(d or 1)) for a, b, c, d in HUNK.findall(diff)
        ]
        moved: dict[int, int] = {}
        shift, h = 0, 0
        for current in sorted(alive):
            while h < len(hunks) and before_line(hunks[h], current):
                shift += hunks[h][3] - hunks[h][1]
                h += 1
            if h < len(hunks) and hunks[h][1] > 0 and hunks[h][0] <= current:
                touched.add(alive[current])  # inside a hunk that replaces or deletes it
                continue
            moved[current + shift] = alive[current]
        alive = moved
    return touched


def lines_taken_out(repo: Path, first: str, last: str) -> set[str]:
    """Paths from which some commit in first..last deletes or changes lines."""
    out = set()
    for row in git(repo, "log", "--numstat", "--no-renames", "--format=", f"{first}..{last}").split(
        "\n"
    ):
        parts = row.split("\t")
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) > 0:
            out.add(parts[2])
    return out


def before_line(hunk: tuple[int, int, int, int], line: int) -> bool:
    """Whether a -U0 hunk (old start, old count, ...) lies wholly before `line`; a pure
    insertion (count 0) after old line `start` (1-based) comes before the lines after it."""
    start, count = hunk[0], hunk[1]
    return start < line if count == 0 else start + count <= line


def auc(scores: list[float], labels: list[int]) -> float:
    """ROC AUC by the Mann-Whitney statistic (ties count one half)."""
    pairs = sorted(zip(scores, labels, strict=True))
    ranks = [0.0] * len(pairs)
    i = 0
    while i < len(pairs):
        j = i
        while j + 1 < len(pairs) and pairs[j + 1][0] == pairs[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        i = j + 1
    positives = sum(labels)
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    rank_sum = sum(r for r, (_, label) in zip(ranks, pairs, strict=True) if label)
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


@dataclass
class FileRows:
    commit: str
    path: str
    surprise: list[float]
    naming: list[float]
    length: list[float]
    labels: list[int]


def bootstrap(files: list[FileRows], field: str, reps: int, seed: int) -> tuple[float, float]:
    rng = random.Random(seed)
    values = []
    for _ in range(reps):
        pick = [rng.choice(files) for _ in files]
        scores = [s for f in pick for s in getattr(f, field)]
        labels = [y for f in pick for y in f.labels]
        value = auc(scores, labels)
        if value == value:
            values.append(value)
    values.sort()
    if not values:
        return float("nan"), float("nan")
    return values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]


def load_scorer(model: str, dtype: str) -> tuple[Scorer, str]:
    from mochi.rag.paths import data_dir
    from mochi.server.generation.transformers_backend import TransformersGenerator
    from mochi.server.models import ModelStore, default_model

    folder = model or str(default_model(ModelStore(data_dir())))
    generator = TransformersGenerator(folder, dtype=dtype)
    return generator, generator.info().model_id


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=Path("."))
    parser.add_argument("--commits", type=int, default=8, help="commits C sampled")
    parser.add_argument("--files", type=int, default=5, help="files per commit")
    parser.add_argument("--horizon", type=int, default=10, help="K: commits looked ahead")
    parser.add_argument("--max-lines", type=int, default=150, help="lines scored per file")
    parser.add_argument("--model", default="", help="model folder ('' = the default)")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=OUT, help="path prefix of the results")
    args = parser.parse_args()
    started = time.perf_counter()
    repo = args.repo.resolve()
    history = git(repo, "rev-list", "--first-parent", "--reverse", "HEAD").split()
    candidates = history[: len(history) - args.horizon]
    if not candidates:
        raise SystemExit(f"the history has {len(history)} commits: fewer than --horizon")
    step = max(1, len(candidates) // args.commits)
    chosen = candidates[::step][: args.commits]
    scorer, model_id = load_scorer(args.model, args.dtype)
    rng = random.Random(args.seed)
    settings = CheckSettings()
    rows: list[FileRows] = []
    for n, commit in enumerate(chosen):
        at = history.index(commit)
        window = history[at : at + args.horizon + 1]
        listed = git(repo, "ls-tree", "-r", "--name-only", commit).split("\n")
        python = [p for p in listed if p.endswith(".py")]
        texts = {p: t for p in python if (t := show(repo, commit, p)) is not None}
        counts, scanned = naming_counts(texts.items())
        norms = RepositoryNorms(model=model_id, adapter=None, naming=counts, named_files=scanned)
        touched = lines_taken_out(repo, commit, window[-1])
        pool = sorted(p for p in texts if p in touched and texts[p].strip())
        for path in rng.sample(pool, min(args.files, len(pool))):
            text = "\n".join(texts[path].split("\n")[: args.max_lines])
            print(f"[{n + 1}/{len(chosen)}] {commit[:8]} {path}", file=sys.stderr, flush=True)
            scores = score_text(scorer, text, None, CancelToken())
            lines = line_surprises(text, scores, settings.min_tokens)
            changed = changed_lines(repo, window, path, len(text.split("\n")))
            named = {f.line for f in naming_findings(norms, path, text, settings)}
            source = text.split("\n")
            rows.append(
                FileRows(
                    commit,
                    path,
                    [s.surprise for s in lines],
                    [1.0 if s.line in named else 0.0 for s in lines],
                    [float(len(source[s.line].strip())) for s in lines],
                    [1 if s.line in changed else 0 for s in lines],
                )
            )
    rows = [r for r in rows if r.labels]
    labels = [y for r in rows for y in r.labels]
    result: dict[str, object] = {
        "command": "python scripts/bench_conventions.py " + " ".join(sys.argv[1:]),
        "repo": repo.name,
        "model": Path(model_id).name,
        "dtype": args.dtype,
        "commits": len(chosen),
        "files": len(rows),
        "lines": len(labels),
        "changed_lines": sum(labels),
        "horizon": args.horizon,
        "naming_findings": int(sum(s for r in rows for s in r.naming)),
        "naming_findings_changed": int(
            sum(s * y for r in rows for s, y in zip(r.naming, r.labels, strict=True))
        ),
        "seconds": round(time.perf_counter() - started, 1),
    }
    for field in ("surprise", "naming", "length"):
        values = [s for r in rows for s in getattr(r, field)]
        low, high = bootstrap(rows, field, args.bootstrap, args.seed)
        result[f"auc_{field}"] = round(auc(values, labels), 4)
        result[f"auc_{field}_ci95"] = [round(low, 4), round(high, 4)]
    print(json.dumps(result, indent=2))
    write_results(args.out, result, rows)
    return 0


def write_results(out: Path, result: dict[str, object], rows: list[FileRows]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    plot = write_plot(out.with_suffix(".png"), rows)
    r = result
    base_rate = int(r["changed_lines"]) / max(1, int(r["lines"]))  # type: ignore[call-overload]
    named, named_changed = int(r["naming_findings"]), int(r["naming_findings_changed"])  # type: ignore[call-overload]
    lines = [
        "# Convention diagnostics: commit replay",
        "",
        "Do the lines mochi finds unusual get changed? For sampled commits of this",
        "repository's own history, each judged line of the Python files from which one of the",
        f"next {r['horizon']} commits deletes or changes lines is scored; its label is 1 when",
        "one of those commits changes or deletes it. Surprise is what `mochi check` flags",
        "above the repository's quantile; naming is the 0/1 naming finding; line length is a",
        "plain baseline.",
        "",
        "```bash",
        str(r["command"]),
        "```",
        "",
        f"Model: {r['model']} ({r['dtype']}, the base model: no adapter was trained for this run).",
        f"{r['commits']} commits, {r['files']} files, {r['lines']} lines, "
        f"{r['changed_lines']} changed ({base_rate:.1%}); {r['seconds']} s on 2 shared CPU cores.",
        "",
        "| score | ROC AUC | 95 % CI (bootstrap over files) |",
        "|---|---|---|",
    ]
    for field, label in (
        ("surprise", "surprise (nats/token)"),
        ("naming", "naming finding (0/1)"),
        ("length", "line length (baseline)"),
    ):
        interval: list[float] = r[f"auc_{field}_ci95"]  # type: ignore[assignment]
        lines.append(f"| {label} | {r[f'auc_{field}']} | {interval[0]} – {interval[1]} |")
    lines += [
        "",
        f"Naming findings: {named}, of which {named_changed} were changed "
        f"(base rate {base_rate:.1%}).",
        "",
        "An AUC of 0.5 is chance. Lines of one file share a fate (a file rewritten changes",
        "all its lines), hence the interval over files; files were sampled among those the",
        "next commits take lines out of, so the AUC measures mostly which lines of such a file",
        "change, not which files do.",
    ]
    if plot:
        lines += ["", f"![ROC curves]({out.with_suffix('.png').name})"]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_plot(path: Path, rows: list[FileRows]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    labels = [y for r in rows for y in r.labels]
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for field, name in (("surprise", "surprise"), ("length", "line length")):
        scores = [s for r in rows for s in getattr(r, field)]
        ordered = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
        pos = max(1, sum(labels))
        neg = max(1, len(labels) - sum(labels))
        tpr, fpr, tp, fp = [0.0], [0.0], 0, 0
        for _, label in ordered:
            tp, fp = tp + label, fp + (1 - label)
            tpr.append(tp / pos)
            fpr.append(fp / neg)
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("lines changed within the next commits")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


if __name__ == "__main__":
    sys.exit(main())
