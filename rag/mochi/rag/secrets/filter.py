"""The secret filter the index and the dataset builder share: files by name, secrets by
content. Content is filtered per document first (a private key spans chunks), then per
chunk or sample as a second check."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import pathspec

from mochi.rag.config.errors import ConfigError
from mochi.rag.config.schema import SecretsConfig
from mochi.rag.secrets.findings import Finding, Redaction, redact
from mochi.rag.secrets.formats import TOKEN_RULES
from mochi.rag.secrets.key_blocks import key_findings
from mochi.rag.secrets.names import Mode, assignment_findings, keyword_lines
from mochi.rag.secrets.prose import prose_findings

# Program code: an unquoted value after `=` is an expression, never a secret.
_CODE_SUFFIXES = frozenset(
    {
        ".py", ".pyi", ".ipynb", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx",
        ".vue", ".svelte", ".go", ".rs", ".java", ".kt", ".kts", ".scala", ".groovy", ".c",
        ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".m", ".mm", ".cs", ".fs",
        ".swift", ".dart", ".rb", ".php", ".lua", ".r", ".jl", ".ex", ".exs", ".erl", ".hs",
        ".ml", ".clj", ".json", ".jsonc", ".css", ".scss", ".sass", ".less",
    }
)  # fmt: skip
_PROSE_SUFFIXES = frozenset(
    {".md", ".markdown", ".rst", ".adoc", ".asciidoc", ".asc", ".txt", ".pdf", ".html", ".htm"}
)


def mode_for(path: str) -> Mode:
    """How to read values in a document: program code, a config file or prose (docs,
    commit messages, text without a known type)."""
    if not path or path.startswith("git:"):
        return "prose"
    name = path.rpartition("/")[2]
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > 0 else ""
    if suffix in _CODE_SUFFIXES:
        return "code"
    return "prose" if suffix in _PROSE_SUFFIXES else "config"


def _lower(text: str) -> str:
    """The text in lower case, character for character (so offsets stay the same)."""
    lower = text.lower()
    if len(lower) == len(text):
        return lower
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)  # e.g. U+0130


def _in_word(text: str, at: int) -> bool:
    return at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_")


class SecretFilter:
    """`path_patterns`: gitignore-style names of files never read. `content_patterns`:
    regexes added to the built-in rules; each match is a secret. `pattern_keys` name
    them (in errors and findings); `secrets.patterns[i]` when not given."""

    def __init__(
        self,
        path_patterns: Sequence[str],
        content_patterns: Sequence[str] = (),
        pattern_keys: Sequence[str] | None = None,
    ) -> None:
        self._paths = pathspec.PathSpec.from_lines("gitignore", path_patterns)
        keys = pattern_keys or [f"secrets.patterns[{i}]" for i in range(len(content_patterns))]
        self._content: list[tuple[str, re.Pattern[str]]] = []
        for key, pattern in zip(keys, content_patterns, strict=True):
            try:
                self._content.append((key, re.compile(pattern)))
            except re.error as exc:
                raise ConfigError(key, f"bad regex {pattern!r}: {exc}") from None

    def is_secret_path(self, path: str) -> bool:
        return bool(self._paths.match_file(path))

    def findings(self, text: str, path: str = "") -> Iterator[Finding]:
        """Every secret in `text`, a document or a piece of one at `path` (its type
        decides how unquoted values are read; "" and `git:` keys are prose)."""
        lower = _lower(text)
        for rule in TOKEN_RULES:
            subject = lower if rule.lower else text
            if rule.keyword and rule.keyword not in subject:
                continue
            for match in rule.pattern.finditer(subject):
                start, end = match.start(rule.group), match.end(rule.group)
                if rule.word_start and _in_word(text, match.start()):
                    continue
                if rule.check is None or rule.check(text[start:end]):
                    yield Finding(start, end, rule.id)
        yield from key_findings(text)
        lines = keyword_lines(lower)
        yield from assignment_findings(text, lower, lines, mode_for(path))
        yield from prose_findings(text, lower, lines)
        for key, pattern in self._content:
            for match in pattern.finditer(text):
                yield Finding(match.start(), match.end(), key)

    def find_secret(self, text: str, path: str = "") -> str | None:
        """The rule of the first secret found, or None."""
        return next((f.rule for f in self.findings(text, path)), None)

    def redact(self, text: str, path: str = "") -> Redaction:
        """`text` with every secret replaced by REDACTED (line numbers kept)."""
        return redact(text, self.findings(text, path))


def secret_filter(config: SecretsConfig | None = None) -> SecretFilter:
    """The filter of a `[secrets]` configuration (its defaults when None)."""
    config = config if config is not None else SecretsConfig()
    keys = [f"secrets.patterns[{i}]" for i in range(len(config.patterns))]
    keys += [f"secrets.extra_patterns[{i}]" for i in range(len(config.extra_patterns))]
    patterns = config.patterns + config.extra_patterns
    return SecretFilter(config.paths + config.extra_paths, patterns, keys)
