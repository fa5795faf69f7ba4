"""Convention findings: where code is unusual for this repository, measured against the
repository's own distribution (per-line surprise under the model, naming styles), with
what the repository usually writes there. Knows nothing of LSP; the language server,
`mochi check` and the MCP server call it."""

from mochi.server.assist.conventions.check import check_diff, check_text
from mochi.server.assist.conventions.diff_lines import DiffLines, added_lines, parse_diff
from mochi.server.assist.conventions.findings import CheckSettings, ConventionFinding
from mochi.server.assist.conventions.norms import (
    RepositoryNorms,
    build_norms,
    cached_norms,
    load_norms,
    norms_key,
    save_norms,
)
from mochi.server.assist.conventions.workspace import (
    check_settings,
    code_files,
    norms_folder,
    workspace_norms,
)

__all__ = [
    "CheckSettings",
    "ConventionFinding",
    "DiffLines",
    "RepositoryNorms",
    "added_lines",
    "build_norms",
    "cached_norms",
    "check_diff",
    "check_settings",
    "check_text",
    "code_files",
    "load_norms",
    "norms_folder",
    "norms_key",
    "parse_diff",
    "save_norms",
    "workspace_norms",
]
