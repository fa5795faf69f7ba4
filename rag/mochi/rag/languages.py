"""Which language and document kind a path holds, by its name."""

from __future__ import annotations

from pathlib import PurePosixPath

from mochi.rag.types import DocKind

CODE_EXTENSIONS: dict[str, str] = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".rb": "ruby",
    ".php": "php",
    ".cs": "csharp",
    ".kt": "kotlin",
    ".swift": "swift",
    ".scala": "scala",
    ".lua": "lua",
    ".sh": "bash",
    ".bash": "bash",
    ".sql": "sql",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".html": "html",
    ".css": "css",
}

DOC_EXTENSIONS: dict[str, str] = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".rst": "rst",
    ".adoc": "asciidoc",
    ".asciidoc": "asciidoc",
    ".asc": "asciidoc",
    ".pdf": "pdf",
}


def classify(path: str) -> tuple[str, DocKind]:
    """(language, kind) for a workspace-relative path; unknown text is ("text", TEXT)."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in DOC_EXTENSIONS:
        return DOC_EXTENSIONS[suffix], DocKind.DOC
    if suffix in CODE_EXTENSIONS:
        return CODE_EXTENSIONS[suffix], DocKind.CODE
    return "text", DocKind.TEXT
