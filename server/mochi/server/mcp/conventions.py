"""`check_conventions`: a workspace file, or the lines a unified diff adds, checked against
the repository's own norms (`mochi.server.assist.conventions`): lines unusually
surprising to the repository-adapted model, and names written unlike the repository's
dominant style. Lines and columns in the answer are 1-based, as agents read them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mochi.rag.languages import classify
from mochi.server.assist.conventions import (
    ConventionFinding,
    RepositoryNorms,
    added_lines,
    check_settings,
    check_text,
    workspace_norms,
)
from mochi.server.config import MochiConfig
from mochi.server.generation.scoring import Scorer
from mochi.server.generation.types import CancelToken
from mochi.server.mcp.backend import ModelSource, ToolUnavailable
from mochi.server.mcp.workspace_files import ToolInputError, workspace_file

MAX_DIFF_FILES = 20


@dataclass(frozen=True, slots=True)
class Finding:
    path: str
    line: int  # 1-based
    column: int  # 1-based, where the span starts
    end_column: int  # 1-based, just after the span
    kind: str  # "surprise" | "naming"
    message: str
    score: float
    suggestion: str | None  # what the repository usually writes for the span

    @classmethod
    def of(cls, f: ConventionFinding) -> Finding:
        return cls(
            f.path, f.line + 1, f.start + 1, f.end + 1, f.kind, f.message, f.score, f.suggestion
        )


@dataclass(frozen=True, slots=True)
class ConventionReport:
    checked: tuple[str, ...]
    skipped: tuple[str, ...]  # diff paths that are not readable workspace files
    surprise: str  # "" when measured, else why not (naming was still checked)
    adapters: dict[str, str | None]  # path -> the expert that scored it (None: the base)
    findings: tuple[Finding, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConventionReport:
        return cls(
            tuple(data["checked"]),
            tuple(data["skipped"]),
            str(data["surprise"]),
            dict(data["adapters"]),
            tuple(Finding(**f) for f in data["findings"]),
        )


@dataclass(frozen=True, slots=True)
class _Target:
    path: str
    text: str
    lines: frozenset[int] | None  # 0-based lines to judge; None: the whole file


def _targets(root: Path, path: str, diff: str, max_chars: int) -> tuple[list[_Target], list[str]]:
    if bool(path) == bool(diff.strip()):
        raise ToolInputError("give either path (a workspace file) or diff, not both")
    if path:
        rel, text = workspace_file(root, path)
        if len(text) > max_chars:
            raise ToolInputError(
                f"{rel} is over diagnostics.max_file_chars ({max_chars} characters)"
            )
        return [_Target(rel, text, None)], []
    added = added_lines(diff)
    if not added:
        raise ToolInputError("the diff adds no lines (give unified diff text, e.g. `git diff`)")
    if len(added) > MAX_DIFF_FILES:
        raise ToolInputError(f"the diff touches over {MAX_DIFF_FILES} files: split it")
    targets, skipped = [], []
    for name, lines in sorted(added.items()):
        try:
            rel, text = workspace_file(root, name)
        except ToolInputError:
            skipped.append(name)
            continue
        if len(text) > max_chars:
            skipped.append(name)
            continue
        targets.append(_Target(rel, text, frozenset(lines)))
    if not targets:
        raise ToolInputError(f"no file the diff adds lines to is in the workspace: {skipped}")
    return targets, skipped


def check_conventions(
    root: Path, config: MochiConfig, models: ModelSource, path: str = "", diff: str = ""
) -> ConventionReport:
    """The findings, with the `[diagnostics]` settings the editor's diagnostics use (and
    so the same cached norms); the model work (norms the first time, scoring,
    suggestions) runs where the model's work runs. A back end that cannot score leaves
    naming only."""
    diagnostics = config.diagnostics
    targets, skipped = _targets(root, path, diff, diagnostics.max_file_chars)
    settings = check_settings(diagnostics)
    scorer: Scorer | None
    try:
        scorer, why_not = models.scorer(), ""
    except ToolUnavailable as exc:
        scorer, why_not = None, str(exc)

    def work() -> ConventionReport:
        norms: dict[str | None, RepositoryNorms] = {}
        model = models.model_id() if scorer is not None else ""
        adapters: dict[str, str | None] = {}
        found: list[ConventionFinding] = []
        cancel = CancelToken()
        for target in targets:
            language = classify(target.path)[0]
            adapter = models.adapter_for(target.path, language) if scorer is not None else None
            adapters[target.path] = adapter
            if adapter not in norms:
                norms[adapter] = workspace_norms(
                    root,
                    config,
                    scorer,
                    model=model,
                    adapter=adapter,
                    cancel=cancel,
                    sample_files=diagnostics.calibration_files,
                    min_tokens=diagnostics.min_tokens,
                )
            found += check_text(
                scorer,
                norms[adapter],
                target.path,
                target.text,
                adapter=adapter,
                cancel=cancel,
                settings=settings,
                lines=target.lines,
            )
        return ConventionReport(
            tuple(t.path for t in targets),
            tuple(skipped),
            why_not,
            adapters,
            tuple(Finding.of(f) for f in found),
        )

    return models.run(work)


def format_report(report: ConventionReport) -> str:
    checked = ", ".join(report.checked)
    head = (
        f"{len(report.findings)} finding(s) in {checked}"
        if report.findings
        else f"no findings in {checked}: it reads like the rest of this repository"
    )
    rows = [head]
    if report.surprise:
        rows.append(f"(naming only; no surprise check: {report.surprise})")
    if report.skipped:
        rows.append(f"(not in the workspace, skipped: {', '.join(report.skipped)})")
    for f in report.findings:
        rows.append(f"{f.path}:{f.line}:{f.column} [{f.kind}] {f.message}")
    return "\n".join(rows)
