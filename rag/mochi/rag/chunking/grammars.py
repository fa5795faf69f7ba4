"""Tree-sitter parsers by language name, loaded on first use and kept per instance."""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Parser

log = logging.getLogger(__name__)

# Single-grammar wheels (tree-sitter-python, ...) that bundle their compiled grammar;
# declared dependencies, so the eight main languages never need a download.
_GRAMMAR_WHEELS: dict[str, tuple[str, str]] = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

_INSTALL_HINT = "tree-sitter is not installed: pip install tree-sitter-language-pack"


class GrammarCache:
    """Finds and keeps one tree-sitter parser per language (None: no grammar)."""

    def __init__(self) -> None:
        self._parsers: dict[str, Parser | None] = {}

    def parser(self, language: str) -> Parser | None:
        """The parser for `language`, or None when no grammar can be had.

        Raises ImportError (saying what to install) when tree-sitter itself is missing.
        """
        if language not in self._parsers:
            self._parsers[language] = _load(language)
        return self._parsers[language]


def _load(language: str) -> Parser | None:
    """The bundled grammar wheel first (offline, no side effects); the language pack
    only for languages without one (its 1.x releases download grammars on demand)."""
    parser = _load_wheel(language)
    if parser is not None:
        return parser
    try:
        import tree_sitter_language_pack as pack
    except ImportError:
        if language in _GRAMMAR_WHEELS:
            raise ImportError(_INSTALL_HINT) from None
        return None
    try:
        return pack.get_parser(language)
    except Exception as exc:  # the pack raises its own error types (lookup, download)
        log.debug("tree-sitter-language-pack has no %s grammar: %s", language, exc)
    return None


def _load_wheel(language: str) -> Parser | None:
    if language not in _GRAMMAR_WHEELS:
        return None
    module_name, function = _GRAMMAR_WHEELS[language]
    try:
        from tree_sitter import Language, Parser

        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return Parser(Language(getattr(module, function)()))


class GrammarUnavailable(LookupError):
    """No tree-sitter grammar (or no unit table) for a language."""

    def __init__(self, language: str) -> None:
        super().__init__(f"no tree-sitter grammar for {language!r}")
        self.language = language
