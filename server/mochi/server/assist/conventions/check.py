"""Checking a text (or the lines a diff adds) against the repository's norms."""

from __future__ import annotations

from collections.abc import Callable, Collection

from mochi.rag.languages import classify
from mochi.server.assist.conventions.diff_lines import added_lines
from mochi.server.assist.conventions.findings import CheckSettings, ConventionFinding
from mochi.server.assist.conventions.naming import judged_name, name_sites, styles_of, to_style
from mochi.server.assist.conventions.norms import RepositoryNorms
from mochi.server.assist.conventions.suggestion import Completer, completer_of, greedy_line
from mochi.server.assist.conventions.surprise import line_surprises, score_text
from mochi.server.generation.scoring import Scorer
from mochi.server.generation.types import CancelToken

DEFAULT_SETTINGS = CheckSettings()


def check_text(
    scorer: Scorer | None,
    norms: RepositoryNorms,
    path: str,
    text: str,
    *,
    adapter: str | None = None,
    cancel: CancelToken | None = None,
    settings: CheckSettings = DEFAULT_SETTINGS,
    lines: Collection[int] | None = None,
    completer: Completer | None = None,
) -> list[ConventionFinding]:
    """Findings in `text` (only on `lines`, 0-based, when given), sorted by position.

    Surprise needs a scorer and norms with a surprise distribution; suggestions for
    surprising lines come from `completer`, else from the scorer when it can also
    generate (a TransformersGenerator does). Blocking: call it from a worker thread.
    """
    token = cancel or CancelToken()
    found: list[ConventionFinding] = []
    if settings.naming:
        found += naming_findings(norms, path, text, settings, lines)
    if settings.surprise and scorer is not None and norms.has_surprise:
        suggester = completer or (completer_of(scorer) if settings.suggest else None)
        found += surprise_findings(
            scorer, norms, path, text, adapter, token, settings, lines, suggester
        )
    return sorted(found, key=lambda f: (f.line, f.start, f.kind))


def check_diff(
    scorer: Scorer | None,
    norms: RepositoryNorms,
    diff: str,
    read: Callable[[str], str | None],
    *,
    adapter: str | None = None,
    cancel: CancelToken | None = None,
    settings: CheckSettings = DEFAULT_SETTINGS,
    completer: Completer | None = None,
) -> list[ConventionFinding]:
    """Findings on the lines a unified diff adds. `read(path)` gives a file's new text
    (the diff applied, e.g. the working tree for `git diff`), None to skip it."""
    out: list[ConventionFinding] = []
    for path, added in sorted(added_lines(diff).items()):
        text = read(path)
        if text is None:
            continue
        out += check_text(
            scorer,
            norms,
            path,
            text,
            adapter=adapter,
            cancel=cancel,
            settings=settings,
            lines=added,
            completer=completer,
        )
    return out


def naming_findings(
    norms: RepositoryNorms,
    path: str,
    text: str,
    settings: CheckSettings = DEFAULT_SETTINGS,
    lines: Collection[int] | None = None,
) -> list[ConventionFinding]:
    """Names written unlike the repository's dominant style for their kind (each name
    once, where it is first defined)."""
    language = classify(path)[0]
    seen: set[tuple[str, str]] = set()
    out: list[ConventionFinding] = []
    for site in name_sites(path, text):
        if (site.kind, site.name) in seen or not judged_name(site.name):
            continue
        seen.add((site.kind, site.name))
        if lines is not None and site.line not in lines:
            continue
        dominant = norms.dominant_style(
            language,
            site.kind,
            min_names=settings.naming_min_names,
            min_share=settings.naming_share,
        )
        if dominant is None or dominant.style in styles_of(site.name):
            continue
        renamed = to_style(site.name, dominant.style)
        message = (
            f"`{site.name}`: {site.kind} names in this repository are {dominant.style} "
            f"({dominant.share:.0%} of {dominant.names}); it would write `{renamed}`"
        )
        out.append(
            ConventionFinding(
                path, site.line, site.start, site.end, "naming", message, dominant.share, renamed
            )
        )
        if len(out) >= settings.max_findings:
            break
    return out


def surprise_findings(
    scorer: Scorer,
    norms: RepositoryNorms,
    path: str,
    text: str,
    adapter: str | None,
    cancel: CancelToken,
    settings: CheckSettings = DEFAULT_SETTINGS,
    lines: Collection[int] | None = None,
    completer: Completer | None = None,
) -> list[ConventionFinding]:
    """Lines above the repository's `settings.quantile` of surprise, the most surprising
    first, at most `settings.max_findings`."""
    threshold = norms.surprise_at(settings.quantile)
    scored = line_surprises(text, score_text(scorer, text, adapter, cancel), settings.min_tokens)
    flagged = [s for s in scored if s.surprise > threshold and (lines is None or s.line in lines)]
    flagged.sort(key=lambda s: -s.surprise)
    out = []
    for s in flagged[: settings.max_findings]:
        suggestion = None
        if completer is not None and settings.suggest:
            suggestion = greedy_line(
                completer,
                text,
                s.line,
                adapter=adapter,
                cancel=cancel,
                max_tokens=settings.suggestion_tokens,
                prompt_chars=settings.prompt_chars,
            )
        share = norms.surprise_rank(s.surprise)
        message = (
            f"unusual for this repository: {s.surprise:.2f} nats/token, more than "
            f"{share:.1%} of its lines (p{settings.quantile * 100:g} = {threshold:.2f})"
        )
        if suggestion is not None:
            message += f"; it usually writes: {suggestion.strip()}"
        out.append(
            ConventionFinding(
                path, s.line, s.start, s.end, "surprise", message, s.surprise, suggestion
            )
        )
    return out
