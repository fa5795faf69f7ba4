"""Convention diagnostics on commit replay: do the lines mochi finds unusual get changed?

For sampled commits C of a real git history (first parent), for Python files at C from
which one of the next K commits deletes or changes lines, every judged line (code, not
blank, not only a comment, at least 3 tokens) is scored once under the default model
(SmolLM2-135M, each token given the file above it), and gets the naming finding (0/1, the
repository's naming statistics taken from all Python files at C). A line is labelled 1
when one of the next K commits changes or deletes it (each commit's diff followed line by
line, so a line changed and changed back counts), else 0.

The scoring pass stores each line's token log-probabilities, text and label in a cache
(`--cache`); the per-line scores compared (mean surprise, what `mochi check` flags today;
max, sum, within-file z-score, surprise beyond the tokens' unigram surprise, ...) are
computed from it offline (`--from-cache`, seconds). The sampled commits are split in two
by their order (even: selection, odd: held out); the variant with the best ROC AUC on the
selection half is chosen there, and its AUC is reported on the held-out half, with a 95 %
bootstrap interval over files (lines of one file are not independent).

    python scripts/bench_conventions.py --repo . --commits 10 --files 3 --horizon 10 \
        --cache /tmp/conv-cache.json
    python scripts/bench_conventions.py --from-cache /tmp/conv-cache.json

Writes docs/benchmarks/conventions.{md,json} (and .png when matplotlib is installed).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import math
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from mochi.server.assist.conventions.check import naming_findings
from mochi.server.assist.conventions.findings import CheckSettings
from mochi.server.assist.conventions.norms import RepositoryNorms, naming_counts
from mochi.server.assist.conventions.surprise import line_surprises, score_text
from mochi.server.generation.scoring import Scorer, TokenScores
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
class LineRecord:
    line: int  # 0-based
    text: str
    pieces: list[str]  # the line's tokens (whitespace-only tokens left out)
    logprobs: list[float]  # natural log, each given the file above
    naming: int  # the naming finding, 0/1
    label: int  # 1: one of the next commits changes or deletes it


@dataclass
class FileRecord:
    commit: str
    order: int  # the commit's place among the sampled ones
    path: str
    lines: list[LineRecord]


def line_tokens(
    text: str, scores: TokenScores, judged_rows: set[int]
) -> dict[int, tuple[list[str], list[float]]]:
    """(pieces, logprobs) of each judged line, grouped as `line_surprises` groups them."""
    starts = [0]
    for line in text.split("\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    out: dict[int, tuple[list[str], list[float]]] = {row: ([], []) for row in judged_rows}
    for start, end, logprob in scores.spans(len(text)):
        piece = text[start:end]
        stripped = piece.lstrip()
        if not stripped:
            continue
        row = bisect.bisect_right(starts, start + len(piece) - len(stripped)) - 1
        if row in out:
            out[row][0].append(piece)
            out[row][1].append(logprob)
    return out


def collect(args: argparse.Namespace, repo: Path) -> dict[str, object]:
    """The one scoring pass: every judged line of the sampled files, with its tokens'
    log-probabilities and its label."""
    history = git(repo, "rev-list", "--first-parent", "--reverse", "HEAD").split()
    candidates = history[: len(history) - args.horizon]
    if not candidates:
        raise SystemExit(f"the history has {len(history)} commits: fewer than --horizon")
    step = max(1, len(candidates) // args.commits)
    chosen = candidates[::step][: args.commits]
    started = time.perf_counter()
    scorer, model_id = load_scorer(args.model, args.dtype)
    rng = random.Random(args.seed)
    settings = CheckSettings()
    files: list[FileRecord] = []
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
            judged_rows = {s.line for s in line_surprises(text, scores, settings.min_tokens)}
            tokens = line_tokens(text, scores, judged_rows)
            changed = changed_lines(repo, window, path, len(text.split("\n")))
            named = {f.line for f in naming_findings(norms, path, text, settings)}
            source = text.split("\n")
            records = [
                LineRecord(
                    row,
                    source[row],
                    tokens[row][0],
                    tokens[row][1],
                    int(row in named),
                    int(row in changed),
                )
                for row in sorted(judged_rows)
            ]
            if records:
                files.append(FileRecord(commit, n, path, records))
    return {
        "command": "python scripts/bench_conventions.py " + " ".join(sys.argv[1:]),
        "repo": repo.name,
        "model": Path(model_id).name,
        "dtype": args.dtype,
        "commits": len(chosen),
        "horizon": args.horizon,
        "seconds": round(time.perf_counter() - started, 1),
        "files": [asdict(f) for f in files],
    }


def load_scorer(model: str, dtype: str) -> tuple[Scorer, str]:
    from mochi.rag.paths import data_dir
    from mochi.server.generation.transformers_backend import TransformersGenerator
    from mochi.server.models import ModelStore, default_model

    folder = model or str(default_model(ModelStore(data_dir())))
    generator = TransformersGenerator(folder, dtype=dtype)
    return generator, generator.info().model_id


# A variant scores every line of a file (higher: more likely to be changed), from the
# tokens' log-probabilities and the unigram surprise of each token piece.
Variant = Callable[[FileRecord, dict[str, float]], list[float]]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def surprises(line: LineRecord) -> list[float]:
    return [-lp for lp in line.logprobs]


def within_file(values: list[float]) -> list[float]:
    """z-scores of a file's line scores against that file's lines."""
    if len(values) < 2:
        return [0.0 for _ in values]
    mu, sd = statistics.fmean(values), statistics.pstdev(values)
    return [(v - mu) / sd if sd > 0 else 0.0 for v in values]


def per_line(score: Callable[[LineRecord, dict[str, float]], float]) -> Variant:
    return lambda f, uni: [score(line, uni) for line in f.lines]


def unigram_gap(line: LineRecord, uni: dict[str, float]) -> float:
    """Surprise in context minus the tokens' surprise on their own (unigram)."""
    return _mean(surprises(line)) - _mean([uni[p] for p in line.pieces])


def neighbourhood(values: list[float], reach: int = 5) -> list[float]:
    """Each value minus the mean of the `reach` judged lines either side of it."""
    out = []
    for i, v in enumerate(values):
        around = values[max(0, i - reach) : i] + values[i + 1 : i + 1 + reach]
        out.append(v - _mean(around) if around else 0.0)
    return out


def mean_surprise(f: FileRecord, uni: dict[str, float]) -> list[float]:
    return [_mean(surprises(line)) for line in f.lines]


def length(f: FileRecord, uni: dict[str, float]) -> list[float]:
    return [float(len(line.text.strip())) for line in f.lines]


# name -> (description, variant); all are "how unusual" scores `check_text` could flag by.
CANDIDATES: dict[str, tuple[str, Variant]] = {
    "mean": ("mean surprise, nats/token (today)", mean_surprise),
    "sum": ("sum of the tokens' surprise", per_line(lambda x, u: sum(surprises(x)))),
    "max": ("the most surprising token", per_line(lambda x, u: max(surprises(x)))),
    "top2": (
        "mean of the 2 most surprising tokens",
        per_line(lambda x, u: _mean(sorted(surprises(x))[-2:])),
    ),
    "median": ("median token surprise", per_line(lambda x, u: statistics.median(surprises(x)))),
    "first": ("the line's first token", per_line(lambda x, u: surprises(x)[0])),
    "file_z": (
        "mean surprise, z-score within the file",
        lambda f, u: within_file(mean_surprise(f, u)),
    ),
    "local": (
        "mean surprise minus its 10 neighbouring lines'",
        lambda f, u: neighbourhood(mean_surprise(f, u)),
    ),
    "unigram_gap": ("mean surprise minus mean unigram surprise", per_line(unigram_gap)),
    "unigram_ratio": (
        "mean surprise / mean unigram surprise",
        per_line(lambda x, u: _mean(surprises(x)) / max(1e-6, _mean([u[p] for p in x.pieces]))),
    ),
    "unigram_gap_file_z": (
        "unigram gap, z-score within the file",
        lambda f, u: within_file([unigram_gap(x, u) for x in f.lines]),
    ),
    "file_z_plus_length": (
        "file z of mean surprise + file z of length",
        lambda f, u: [
            a + b
            for a, b in zip(
                within_file(mean_surprise(f, u)), within_file(length(f, u)), strict=True
            )
        ],
    ),
    "mean_times_log_length": (
        "mean surprise x log(tokens)",
        per_line(lambda x, u: _mean(surprises(x)) * math.log(len(x.logprobs))),
    ),
}
# Not what a surprise check could flag: shown beside the candidates, never chosen.
BASELINES: dict[str, tuple[str, Variant]] = {
    "length": ("line length, characters (baseline)", length),
    "tokens": ("tokens on the line (baseline)", per_line(lambda x, u: float(len(x.logprobs)))),
    "naming": ("naming finding, 0/1", per_line(lambda x, u: float(x.naming))),
    "minus_mean": (
        "minus mean surprise (the least surprising first)",
        lambda f, u: [-v for v in mean_surprise(f, u)],
    ),
}


def unigram_table(files: list[FileRecord]) -> dict[str, float]:
    """-log p of each token piece on its own, add-one smoothed, from all judged lines of
    the cache (no labels used)."""
    counts = Counter(p for f in files for line in f.lines for p in line.pieces)
    total = sum(counts.values()) + len(counts) + 1
    return {p: -math.log((c + 1) / total) for p, c in counts.items()}


def file_bootstrap(
    scored: list[tuple[list[float], list[int]]], reps: int, seed: int
) -> tuple[float, float]:
    rng = random.Random(seed)
    values = []
    for _ in range(reps):
        pick = [rng.choice(scored) for _ in scored]
        value = auc([s for p in pick for s in p[0]], [y for p in pick for y in p[1]])
        if value == value:
            values.append(value)
    values.sort()
    if not values:
        return float("nan"), float("nan")
    return values[int(0.025 * len(values))], values[int(0.975 * len(values)) - 1]


def analyse(
    cache: dict[str, object], files: list[FileRecord], reps: int, seed: int
) -> tuple[dict[str, object], dict[str, tuple[list[float], list[int]]]]:
    uni = unigram_table(files)
    halves = {
        "selection": [f for f in files if f.order % 2 == 0],
        "held_out": [f for f in files if f.order % 2 == 1],
        "pooled": files,
    }
    table: dict[str, dict[str, object]] = {}
    for name, (description, variant) in {**CANDIDATES, **BASELINES}.items():
        row: dict[str, object] = {"description": description, "candidate": name in CANDIDATES}
        for half, members in halves.items():
            scored = [(variant(f, uni), [x.label for x in f.lines]) for f in members]
            value = auc([s for p in scored for s in p[0]], [y for p in scored for y in p[1]])
            row[half] = round(value, 4)
            if half != "selection":
                low, high = file_bootstrap(scored, reps, seed)
                row[f"{half}_ci95"] = [round(low, 4), round(high, 4)]
        table[name] = row
    chosen = max(CANDIDATES, key=lambda name: float(table[name]["selection"]))  # type: ignore[arg-type]
    held: list[float] = table[chosen]["held_out_ci95"]  # type: ignore[assignment]
    labels = {half: [x.label for f in m for x in f.lines] for half, m in halves.items()}
    result: dict[str, object] = {
        key: cache[key]
        for key in ("command", "repo", "model", "dtype", "commits", "horizon", "seconds")
    }
    result.update(
        {
            "files": len(files),
            "lines": len(labels["pooled"]),
            "changed_lines": sum(labels["pooled"]),
            "split": "by the sampled commit's order: even = selection, odd = held out",
            **{
                f"{half}_{what}": value
                for half in ("selection", "held_out")
                for what, value in (
                    ("commits", len({f.commit for f in halves[half]})),
                    ("files", len(halves[half])),
                    ("lines", len(labels[half])),
                    ("changed_lines", sum(labels[half])),
                )
            },
            "naming_findings": sum(x.naming for f in files for x in f.lines),
            "naming_findings_changed": sum(x.naming * x.label for f in files for x in f.lines),
            "chosen": chosen,
            "chosen_holds": held[0] > 0.5,
            "variants": table,
        }
    )
    curves = {}
    for name in dict.fromkeys((chosen, "mean", "length")):
        variant = {**CANDIDATES, **BASELINES}[name][1]
        members = halves["held_out"]
        curves[name] = ([s for f in members for s in variant(f, uni)], labels["held_out"])
    return result, curves


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
    parser.add_argument("--cache", type=Path, help="write the scored lines here (JSON)")
    parser.add_argument("--from-cache", type=Path, help="analyse these scored lines, no model")
    parser.add_argument("--out", type=Path, default=OUT, help="path prefix of the results")
    args = parser.parse_args()
    if args.from_cache:
        cache = json.loads(args.from_cache.read_text(encoding="utf-8"))
    else:
        cache = collect(args, args.repo.resolve())
        if args.cache:
            args.cache.write_text(json.dumps(cache) + "\n", encoding="utf-8")
    files = [
        FileRecord(f["commit"], f["order"], f["path"], [LineRecord(**x) for x in f["lines"]])
        for f in cache["files"]
    ]
    result, curves = analyse(cache, files, args.bootstrap, args.seed)
    if args.from_cache:
        result["analysed"] = "python scripts/bench_conventions.py " + " ".join(sys.argv[1:])
    print(json.dumps(result, indent=2))
    write_results(args.out, result, curves)
    return 0


def write_results(
    out: Path, result: dict[str, object], curves: dict[str, tuple[list[float], list[int]]]
) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    plot = write_plot(out.with_suffix(".png"), curves)
    r = result
    base_rate = int(r["changed_lines"]) / max(1, int(r["lines"]))  # type: ignore[call-overload]
    table: dict[str, dict[str, object]] = r["variants"]  # type: ignore[assignment]
    chosen = str(r["chosen"])
    pick = table[chosen]
    commands = [str(r["command"])]
    if "analysed" in r:
        commands.append(str(r["analysed"]))
    lines = [
        "# Convention diagnostics: commit replay",
        "",
        "Do the lines mochi finds unusual get changed? For sampled commits of this",
        "repository's own history, each judged line of the Python files from which one of the",
        f"next {r['horizon']} commits deletes or changes lines is scored once; its label is 1",
        "when one of those commits changes or deletes it. Several per-line scores are computed",
        "from the same token log-probabilities. To keep the choice off the test data the",
        "sampled commits are split by their order (even: selection, odd: held out); the score",
        "with the best AUC on the selection half is chosen, and its AUC on the held-out half is",
        "the figure to read.",
        "",
        "```bash",
        *commands,
        "```",
        "",
        f"Model: {r['model']} ({r['dtype']}, the base model: no adapter was trained for this run).",
        f"{r['commits']} commits, {r['files']} files, {r['lines']} lines, "
        f"{r['changed_lines']} changed ({base_rate:.1%}); {r['seconds']} s of scoring on 2 "
        "shared CPU cores.",
        f"Selection half: {r['selection_commits']} commits, {r['selection_files']} files, "
        f"{r['selection_lines']} lines, {r['selection_changed_lines']} changed. Held-out half: "
        f"{r['held_out_commits']} commits, {r['held_out_files']} files, {r['held_out_lines']} "
        f"lines, {r['held_out_changed_lines']} changed.",
        "",
        "| score | selection AUC | held-out AUC (95 % CI) | pooled AUC (95 % CI) |",
        "|---|---|---|---|",
    ]
    for name, row in table.items():
        held: list[float] = row["held_out_ci95"]  # type: ignore[assignment]
        pooled: list[float] = row["pooled_ci95"]  # type: ignore[assignment]
        label = f"`{name}`: {row['description']}" + ("" if row["candidate"] else " *")
        if name == chosen:
            label = f"**{label} (chosen)**"
        lines.append(
            f"| {label} | {row['selection']} | {row['held_out']} ({held[0]} – {held[1]}) "
            f"| {row['pooled']} ({pooled[0]} – {pooled[1]}) |"
        )
    held = pick["held_out_ci95"]  # type: ignore[assignment]
    verdict = (
        "its held-out interval lies above 0.5"
        if r["chosen_holds"]
        else "its held-out interval reaches 0.5: it does not hold up"
    )
    lines += [
        "",
        "\\* not a candidate (a baseline, or not a score of unusualness): shown, never chosen.",
        "Unigram surprise: -log of each token's add-one smoothed frequency among all judged",
        "lines of the run (no labels used). Intervals: bootstrap over files.",
        "",
        f"Chosen on the selection half: `{chosen}` (selection AUC {pick['selection']}); "
        f"held out: {pick['held_out']} ({held[0]} – {held[1]}); {verdict}.",
        "",
        f"Naming findings: {r['naming_findings']}, of which {r['naming_findings_changed']} "
        f"were changed (base rate {base_rate:.1%}).",
        "",
        "An AUC of 0.5 is chance. Lines of one file share a fate (a file rewritten changes",
        "all its lines), hence the interval over files; files were sampled among those the",
        "next commits take lines out of, so the AUC measures mostly which lines of such a file",
        "change, not which files do.",
    ]
    if plot:
        lines += ["", f"![ROC curves on the held-out half]({out.with_suffix('.png').name})"]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_plot(path: Path, curves: dict[str, tuple[list[float], list[int]]]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for name, (scores, labels) in curves.items():
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
    ax.set_title("held-out half: lines changed later")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


if __name__ == "__main__":
    sys.exit(main())
