"""Training samples from a git repository: code (FIM, with and without retrieved
context; documented function -> body; optionally the files as plain text), history
(commit <-> diff) and optional Q/A; secrets filtered with the index's rules, duplicates
removed, split, described by a card.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from mochi.rag.config import SecretsConfig
from mochi.rag.prompting import FIM_TEMPLATES
from mochi.rag.secrets import REDACTED, SecretFilter, secret_filter
from mochi.rag.sources.git_history import EMPTY_TREE
from mochi.rag.types import SkipCounts
from mochi.trainer.datasets.card import make_card
from mochi.trainer.datasets.code_samples import (
    Origin,
    Renderer,
    doc_sample,
    file_lines,
    file_window_samples,
    fim_sample,
    pick_middles,
    unit_rng,
)
from mochi.trainer.datasets.commit_samples import commit_samples
from mochi.trainer.datasets.dedup import deduplicate
from mochi.trainer.datasets.errors import DatasetCancelled, DatasetError
from mochi.trainer.datasets.qa_samples import QaClient, qa_samples
from mochi.trainer.datasets.repository import CommitInfo, Repository, SourceFile
from mochi.trainer.datasets.spec import BuiltDataset, ContextSource, DatasetSpec
from mochi.trainer.datasets.splits import random_split
from mochi.trainer.datasets.storage import load_dataset, save_dataset
from mochi.trainer.datasets.units import Block, CodeUnit, UnitFinder
from mochi.trainer.samples import Sample

__all__ = ["DatasetError", "build_dataset", "default_secret_filter", "load_dataset", "save_dataset"]

ProgressFn = Callable[[str, int, int], None]
Tagged = tuple[Sample, str]  # a sample and its split group (unit or commit)


def default_secret_filter(config: SecretsConfig | None = None) -> SecretFilter:
    """The index's rules (`[secrets]` of the rag configuration; its defaults when None)."""
    return secret_filter(config)


@dataclass(slots=True)
class _Build:
    """The state of one build (no module-level state)."""

    repo: Repository
    spec: DatasetSpec
    render: Renderer
    secrets: SecretFilter
    finder: UnitFinder
    notify: ProgressFn
    cancelled: Callable[[], bool]
    skips: SkipCounts = field(default_factory=SkipCounts)
    dropped: Counter[str] = field(default_factory=Counter)
    commits: list[CommitInfo] = field(default_factory=list)  # commits samples came from
    qa_units: list[tuple[CodeUnit, str]] = field(default_factory=list)

    def check(self) -> None:
        if self.cancelled():
            raise DatasetCancelled("the dataset build was cancelled")

    def code(self, tree: CommitInfo | None, changed: dict[str, set[int]] | None) -> list[Tagged]:
        """FIM and doc-to-code samples of a tree (None: the working tree)."""
        files = [self._redacted(f) for f in self.repo.files(tree, self.secrets, self.skips)]
        origin = Origin(tree.sha, tree.time) if tree is not None else Origin()
        out: list[Tagged] = []
        for done, file in enumerate(files):
            self.check()
            self.notify("files", done, len(files))
            wanted = changed.get(file.path) if changed is not None else None
            if changed is not None and not wanted:
                continue
            lines = file_lines(file.text)
            out += self._windows(file, lines, origin, wanted)
            for unit in self._clean_units(file):
                if wanted is not None and not any(unit.first <= n <= unit.last for n in wanted):
                    continue
                rng = unit_rng(self.spec.seed, origin, unit)
                for block in pick_middles(unit, self.spec.samples_per_unit, rng):
                    sample = fim_sample(self.render, unit, file.language, lines, block, rng, origin)
                    out.append((sample, unit.key))
                if self.spec.docstring_pairs:
                    doc = doc_sample(self.render, unit, file.language, lines, origin)
                    if doc is not None:
                        out.append((doc, unit.key))
                self.qa_units.append((unit, file.language))
        self.notify("files", len(files), len(files))
        return out

    def _windows(
        self, file: SourceFile, lines: list[str], origin: Origin, wanted: set[int] | None
    ) -> list[Tagged]:
        """The file's plain-text windows (all in one split group: the file), those with a
        changed line only when `wanted` is given; none that shows a secret."""
        if self.spec.file_window_lines <= 0:
            return []
        out: list[Tagged] = []
        for sample, first, last in file_window_samples(
            self.render, file.path, file.language, lines, origin
        ):
            if wanted is not None and not any(first <= n <= last for n in wanted):
                continue
            out.append((sample, f"file:{file.path}"))
        return out

    def history(self, rev: str) -> list[Tagged]:
        """Commit <-> diff pairs of `rev` (a ref or a range), newest first."""
        if not self.spec.commit_pairs or self.spec.max_commits == 0:
            return []
        commits = self.repo.commits(rev, self.spec.max_commits)

        def tick(done: int) -> None:
            self.check()
            self.notify("commits", done, len(commits))

        found = commit_samples(
            self.repo,
            commits,
            self.secrets,
            eos=self.render.eos,
            max_diff_chars=self.spec.max_diff_chars,
            tick=tick,
        )
        self.dropped["secret_commits"] += found.secret_commits
        self.commits.extend(found.used)
        return [(s, f"commit:{s.commit}") for s in found.samples]

    def later_changes(self, split: CommitInfo, tip: CommitInfo) -> list[Tagged]:
        """Time split eval: FIM samples whose middle is lines that commits after `split`
        (up to `tip`) added or changed, from each file as it stood after the commit."""
        later = list(reversed(self.repo.commits(f"{split.sha}..{tip.sha}", self.spec.max_commits)))
        out: list[Tagged] = []
        for done, commit in enumerate(later, 1):
            self.check()
            self.notify("eval", done, len(later))
            origin = Origin(commit.sha, commit.time)
            before = len(out)
            touched = self.repo.changed_lines(commit.parent or EMPTY_TREE, commit)
            for path, changed in sorted(touched.items()):
                if self.secrets.is_secret_path(path):
                    continue
                file = self._file_at(commit, path)
                if file is None:
                    continue
                lines = file_lines(file.text)
                for unit in self._clean_units(file):
                    blocks = _changed_blocks(unit, changed, self.spec.max_middle_lines)
                    rng = unit_rng(self.spec.seed, origin, unit, "eval")
                    if len(blocks) > self.spec.samples_per_unit:
                        blocks = sorted(
                            rng.sample(blocks, self.spec.samples_per_unit),
                            key=lambda b: (b.first, b.last),
                        )
                    for block in blocks:
                        sample = fim_sample(
                            self.render, unit, file.language, lines, block, rng, origin
                        )
                        out.append((sample, f"{commit.sha}:{unit.key}"))
            if len(out) > before:
                self.commits.append(commit)
        return out

    def qa(self, origin: Origin) -> list[Tagged]:
        spec = self.spec
        if not spec.qa_endpoint or not self.qa_units or spec.qa_max_units == 0:
            return []
        chosen = sorted(
            self.qa_units,
            key=lambda u: hashlib.sha256(f"{spec.seed}\0{u[0].key}".encode()).hexdigest(),
        )[: spec.qa_max_units]
        chosen.sort(key=lambda u: (u[0].path, u[0].first))
        client = QaClient(spec.qa_endpoint, spec.qa_model, spec.qa_timeout_s)

        def tick(done: int) -> None:
            self.check()
            self.notify("qa", done, len(chosen))

        try:
            found = qa_samples(
                client, chosen, eos=self.render.eos, commit=origin.commit, time=origin.time,
                tick=tick,
            )  # fmt: skip
        finally:
            client.close()
        self.dropped["qa_failures"] += found.failures
        return [(s, f"{s.path}:qa") for s in found.samples]

    def without_secrets(self, tagged: Iterable[Tagged]) -> list[Tagged]:
        """Last line of defence: no prompt or completion that holds a secret or the mark
        of a redacted one (a prefix window or a context snippet can reach past the unit)."""
        kept: list[Tagged] = []
        for sample, group in tagged:
            if self._shows_secret(sample.prompt, sample.path) or self._shows_secret(
                sample.completion, sample.path
            ):
                self.dropped["secret_samples"] += 1
                continue
            kept.append((sample, group))
        return kept

    def _shows_secret(self, text: str, path: str) -> bool:
        return REDACTED in text or self.secrets.find_secret(text, path) is not None

    def _redacted(self, file: SourceFile) -> SourceFile:
        """The file with its secrets redacted before it is cut into units (a private key
        spans units and prefix windows); units and samples that show the mark are dropped."""
        found = self.secrets.redact(file.text, file.path)
        if not found.count:
            return file
        self.dropped["secrets_redacted"] += found.count
        return SourceFile(file.path, found.text, file.language)

    def _clean_units(self, file: SourceFile) -> list[CodeUnit]:
        units: list[CodeUnit] = []
        for unit in self.finder.units(file):
            if self._shows_secret(unit.text, file.path):
                self.dropped["secret_units"] += 1
                continue
            units.append(unit)
        return units

    def _file_at(self, commit: CommitInfo, path: str) -> SourceFile | None:
        from mochi.rag.languages import classify
        from mochi.rag.types import DocKind

        language, kind = classify(path)
        if kind is not DocKind.CODE:
            return None
        text = self.repo.file_at(commit, path)
        if not text or not text.strip():
            return None
        return self._redacted(SourceFile(path, text, language))


def _changed_blocks(unit: CodeUnit, changed: set[int], max_lines: int) -> list[Block]:
    """Statement blocks of the unit made only of changed lines; else runs of changed
    lines inside its body, cut to `max_lines`."""
    inside = [b for b in unit.middles if all(n in changed for n in range(b.first, b.last + 1))]
    if inside or not unit.middles:
        return inside
    low = min(b.first for b in unit.middles)
    high = max(b.last for b in unit.middles)
    lines = unit.text.split("\n")

    def blank(n: int) -> bool:
        index = n - unit.first
        return not (0 <= index < len(lines) and lines[index].strip())

    runs: list[Block] = []
    run: list[int] = []
    for n in [*range(low, high + 1), high + 1]:
        if n <= high and n in changed and not blank(n) and len(run) < max_lines:
            run.append(n)
            continue
        if run:
            runs.append(Block(run[0], run[-1]))
        run = [n] if n <= high and n in changed and not blank(n) else []
    return runs


def build_dataset(
    root: Path,
    spec: DatasetSpec,
    *,
    fim_template: str | None,
    eos: str,
    count_tokens: Callable[[str], int],
    context: ContextSource | None = None,
    commit: str | None = None,
    changed_since: str | None = None,
    secrets: SecretFilter | None = None,
    progress: ProgressFn | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> BuiltDataset:
    """Build the samples of the repository at `root`.

    `commit`: read the tree of this commit (from git objects) instead of the working
    tree. `changed_since`: keep only units with lines changed since this commit, and
    commit pairs of that range (continual jobs). Raises DatasetError (not a git
    repository, unknown commit, nothing to train on) and DatasetCancelled.
    """
    if fim_template is not None and fim_template not in FIM_TEMPLATES:
        raise DatasetError(
            f"unknown FIM template {fim_template!r}; known: {sorted(FIM_TEMPLATES)} or None"
        )
    repo = Repository(root)
    build = _Build(
        repo=repo,
        spec=spec,
        render=Renderer(spec, fim_template, eos, count_tokens, context),
        secrets=secrets if secrets is not None else default_secret_filter(),
        finder=UnitFinder(spec.max_middle_lines),
        notify=progress or (lambda _stage, _done, _total: None),
        cancelled=should_cancel or (lambda: False),
    )
    target = repo.resolve(commit) if commit else None
    tip = target or repo.head()
    since = repo.resolve(changed_since) if changed_since else None
    split_at: CommitInfo | None = None
    tree = target
    if spec.split == "time":
        split_at = repo.resolve(spec.split_commit)
        if tip is None or not repo.is_ancestor(split_at.sha, tip.sha):
            raise DatasetError(
                f"split_commit {spec.split_commit!r} is not an ancestor of "
                f"{commit or 'HEAD'}: the time split needs later commits to evaluate on"
            )
        tree = split_at
    changed = repo.changed_lines(since.sha, tree) if since is not None else None

    train = build.code(tree, changed)
    origin = Origin(tree.sha, tree.time) if tree is not None else Origin()
    train += build.qa(origin)
    history_tip = tree or tip
    if history_tip is not None:
        rev = f"{since.sha}..{history_tip.sha}" if since is not None else history_tip.sha
        train += build.history(rev)
    held: list[Tagged] = []
    if split_at is not None and tip is not None:
        held = build.later_changes(split_at, tip)

    build.notify("dedup", 0, len(train) + len(held))
    train = build.without_secrets(train)
    held = build.without_secrets(held)
    dropped: dict[str, int] = {}
    tagged = [(s, ("train", g)) for s, g in train] + [(s, ("eval", g)) for s, g in held]
    unique = list(deduplicate(tagged, spec.near_dup_threshold, dropped))
    build.dropped.update(dropped)
    build.notify("dedup", len(tagged), len(tagged))
    if split_at is not None:
        train_samples = [s for s, (side, _) in unique if side == "train"]
        eval_samples = [s for s, (side, _) in unique if side == "eval"]
    else:
        train_samples, eval_samples = random_split(
            [(s, g) for s, (_, g) in unique], spec.eval_fraction, spec.seed
        )
    if not train_samples:
        raise DatasetError(_nothing_to_train(repo.root, build, tree, since))
    for reason in ("secret_file", "binary", "too_large", "undecodable"):
        build.dropped[f"files_{reason}"] += getattr(build.skips, reason)
    card = make_card(
        train_samples,
        eval_samples,
        spec=spec,
        count_tokens=count_tokens,
        commits=build.commits,
        source=tree.sha if tree is not None else "working tree",
        dropped={k: v for k, v in build.dropped.items() if v},
    )
    return BuiltDataset(train=train_samples, eval=eval_samples, card=card)


def _nothing_to_train(
    root: Path, build: _Build, tree: CommitInfo | None, since: CommitInfo | None
) -> str:
    where = f"commit {tree.sha[:12]}" if tree is not None else "the working tree"
    scope = f" changed since {since.sha[:12]}" if since is not None else ""
    skipped = build.skips.total()
    return (
        f"nothing to train on in {root} ({where}): no code units{scope} in a language "
        f"with a tree-sitter grammar and no usable commits ({skipped} files skipped"
        f", {sum(build.dropped.values())} samples dropped)"
    )
