"""`report.md`: the report's tables, in Markdown, with the plot."""

from __future__ import annotations

from typing import Any

from mochi.trainer.evaluation.metrics import METRICS

LABELS = {"exact_match": "EM", "edit_similarity": "ES", "identifier_match": "ident. EM"}


def _ci(estimate: dict[str, float | None], scale: float = 100.0, sign: bool = False) -> str:
    value, low, high = estimate["value"], estimate["low"], estimate["high"]
    if value is None or low is None or high is None:
        return "n/a"
    fmt = "{:+.1f}" if sign else "{:.1f}"
    return f"{fmt.format(value * scale)} [{fmt.format(low * scale)}, {fmt.format(high * scale)}]"


def _ratio(estimate: dict[str, float | None]) -> str:
    value, low, high = estimate["value"], estimate["low"], estimate["high"]
    if value is None or low is None or high is None:
        return "n/a"
    return f"{value:.2f}× [{low:.2f}, {high:.2f}]"


def subset_table(subset: dict[str, Any]) -> str:
    head = ["configuration", "n"] + [f"{LABELS[m]} %" for m in METRICS]
    head += [f"Δ {LABELS[m]} vs base" for m in METRICS] + ["EM ratio vs base"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, entry in subset["configs"].items():
        cells = [name, str(entry["n"])] + [_ci(entry[m]) for m in METRICS]
        diffs = entry.get("difference_vs_base")
        cells += [_ci(diffs[m], sign=True) if diffs else "—" for m in METRICS]
        ratio = entry.get("exact_match_ratio_vs_base")
        cells.append(_ratio(ratio) if ratio else "—")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def render_markdown(report: dict[str, Any], plot_name: str | None) -> str:
    run = report["run"]
    parts = [
        f"# mochi eval: {run['repository']}",
        "",
        f"Index and training see the repository at `{run['since'][:12]}`; the tasks are lines "
        f"added or modified by the {run['commits']} commits up to `{run['until'][:12]}` "
        f"({report['all']['n']} tasks, {report['api']['n']} in the API subset: lines calling "
        "a function, method or class defined in another file).",
        "",
        f"Model: `{run['model']}`; adapter: `{run.get('adapter') or '—'}`. "
        f"Greedy decoding, one line, at most {run['decoding']['max_new_tokens']} new tokens, "
        f"token healing {'on' if run['decoding'].get('token_healing', False) else 'off'}; "
        f"prompt budget {run['decoding']['prompt_tokens']} tokens for the file, "
        f"{run['decoding']['context_tokens']} for retrieved context (the server's defaults).",
        "",
        "Values in percent with bootstrap 95% confidence intervals "
        f"({run['bootstrap_resamples']} resamples, seed {run['seed']}); differences and the "
        "EM ratio are paired (the same tasks resampled for both configurations).",
        "",
        "## All tasks",
        "",
        subset_table(report["all"]),
        "",
        "## API subset",
        "",
        subset_table(report["api"]) if report["api"]["n"] else "No task in the API subset.",
        "",
    ]
    if plot_name:
        parts += [f"![scores per configuration]({plot_name})", ""]
    timing = report.get("timing", {})
    if timing:
        parts += ["## Time", "", "| configuration | seconds per task |", "|---|---|"]
        parts += [f"| {name} | {seconds:.2f} |" for name, seconds in timing.items()]
        parts.append("")
    parts += ["## Command", "", "```", run["command"], "```", ""]
    return "\n".join(parts)
