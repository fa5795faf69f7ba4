"""The files of the workspace: what git would show, or a .gitignore-aware walk."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath

import git
import pathspec

from mochi.rag.languages import classify
from mochi.rag.paths import inside_workspace
from mochi.rag.sources.pdf import PdfError, PdfTextReader
from mochi.rag.types import Document, SkipCounts

SNIFF_BYTES = 8192

BINARY_EXTENSIONS = frozenset(
    {
        # images
        ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".icns", ".webp", ".tif", ".tiff",
        ".psd", ".heic", ".avif",
        # archives and packages
        ".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar", ".jar", ".war",
        ".whl", ".egg", ".deb", ".rpm", ".dmg", ".iso", ".apk",
        # compiled code
        ".so", ".dylib", ".dll", ".exe", ".o", ".obj", ".a", ".lib", ".pyc", ".pyo", ".pyd",
        ".class", ".wasm", ".bin",
        # media and fonts
        ".mp3", ".mp4", ".wav", ".ogg", ".flac", ".avi", ".mov", ".mkv", ".webm",
        ".ttf", ".otf", ".woff", ".woff2", ".eot",
        # data, models, office documents
        ".npy", ".npz", ".pt", ".pth", ".ckpt", ".safetensors", ".onnx", ".gguf", ".pkl",
        ".pickle", ".h5", ".parquet", ".db", ".sqlite", ".sqlite3",
        ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".odt", ".ods", ".odp",
    }
)  # fmt: skip


class WorkspaceSource:
    """Workspace files keyed by their POSIX path relative to `root`.

    In a git work tree the files are those git tracks plus the untracked ones it
    does not ignore (`root` may be a folder inside the repository). Elsewhere the
    folder is walked honouring every `.gitignore` in it. `extra_ignores` are
    gitwildmatch patterns applied in both cases.
    """

    name = "workspace"

    def __init__(
        self,
        root: Path,
        *,
        max_file_bytes: int = 1_000_000,
        max_pdf_bytes: int = 50_000_000,
        extra_ignores: Sequence[str] = (),
        pdf_reader: PdfTextReader | None = None,
    ) -> None:
        self._root = Path(root).resolve()
        self._max_file_bytes = max_file_bytes
        self._max_pdf_bytes = max_pdf_bytes
        self._extra = pathspec.GitIgnoreSpec.from_lines(list(extra_ignores))
        self._pdf_reader = pdf_reader if pdf_reader is not None else PdfTextReader()

    @property
    def root(self) -> Path:
        return self._root

    def fingerprints(self) -> dict[str, str]:
        """key -> "<size>:<mtime_ns>" of every regular file and symbolic link listed now.

        A link is listed (by its own stat, never its target's) so that `load` counts
        it as skipped.
        """
        found: dict[str, str] = {}
        for key in self._list_keys():
            if self._extra.match_file(key):
                continue
            try:
                info = os.lstat(self._root / key)
            except OSError:  # vanished
                continue
            if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode):
                found[key] = f"{info.st_size}:{info.st_mtime_ns}"
        return found

    def load(self, key: str, skips: SkipCounts) -> Document | None:
        """The file's text as a Document, or None with the reason counted in `skips`."""
        path = self._path_of(key)
        if path is None:
            skips.add("unreadable", key)
            return None
        link = self._link_reason(path)
        if link is not None:
            skips.add(link, key)
            return None
        is_pdf = PurePosixPath(key).suffix.lower() == ".pdf"
        cap = self._max_pdf_bytes if is_pdf else self._max_file_bytes
        reason = self._precheck(path, key, cap)
        if reason is not None:
            skips.add(reason, key)
            return None
        try:
            data = _read_no_follow(path)
        except OSError:
            skips.add("unreadable", key)
            return None
        if len(data) > cap:  # it grew since the stat
            skips.add("too_large", key)
            return None
        if not data:
            skips.add("empty", key)
            return None
        if is_pdf:
            return self._load_pdf(key, data, skips)
        if b"\x00" in data[:SNIFF_BYTES]:
            skips.add("binary", key)
            return None
        text = _decode(data)
        if text is None:
            skips.add("undecodable", key)
            return None
        return _document(key, text, data)

    def _link_reason(self, path: Path) -> str | None:
        """Why a path with a symbolic link on it is not read, else None.

        A link is never followed: one that leads out of the root could expose any
        file of the machine, and the target of one that stays inside is listed (and
        indexed) under its own path, or is ignored.
        """
        if not inside_workspace(self._root, path):
            return "outside_workspace"
        if path.resolve() != path:  # the root is resolved: any difference is a link
            return "symlink"
        return None

    def _precheck(self, path: Path, key: str, cap: int) -> str | None:
        """A skip reason known from the name and a stat alone, else None."""
        try:
            info = path.stat()
        except OSError:
            return "unreadable"
        if not stat.S_ISREG(info.st_mode):
            return "unreadable"
        if info.st_size == 0:
            return "empty"
        if PurePosixPath(key).suffix.lower() in BINARY_EXTENSIONS:
            return "binary"
        if info.st_size > cap:
            return "too_large"
        return None

    def _load_pdf(self, key: str, data: bytes, skips: SkipCounts) -> Document | None:
        try:
            pdf = self._pdf_reader.extract(data)
        except PdfError:
            skips.add("undecodable", key)
            return None
        if not pdf.text.strip():
            skips.add("empty", key)
            return None
        return _document(key, pdf.text, data, title=pdf.title)

    def _path_of(self, key: str) -> Path | None:
        """The file a key names, or None for a key that leaves the root."""
        relative = PurePosixPath(key)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            return None
        return self._root.joinpath(*relative.parts)

    def _list_keys(self) -> Iterator[str]:
        try:
            repo = git.Repo(self._root, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return _walk(self._root, self._extra)
        if repo.bare:
            return _walk(self._root, self._extra)
        try:
            return _git_listing(self._root)
        except git.GitCommandError:  # e.g. a repository git refuses (safe.directory)
            return _walk(self._root, self._extra)


def _git_listing(root: Path) -> Iterator[str]:
    """Tracked + untracked-not-ignored files under `root`, relative to it.

    git run inside a subfolder lists only that subfolder, relative to it.
    """
    output = git.Git(str(root)).ls_files("-z", "--cached", "--others", "--exclude-standard")
    # an unmerged path is listed once per stage; dict.fromkeys keeps the order
    return iter(dict.fromkeys(key for key in output.split("\0") if key))


def _walk(root: Path, extra: pathspec.GitIgnoreSpec) -> Iterator[str]:
    """Files under `root` that its .gitignore files (nested too) leave in; no `.git/`.

    Folders that `extra` or a .gitignore excludes are not entered.
    """
    specs: list[tuple[str, pathspec.GitIgnoreSpec]] = []  # (directory prefix, its .gitignore)
    for directory, dirnames, filenames in os.walk(root):
        relative_dir = Path(directory).relative_to(root).as_posix()
        prefix = "" if relative_dir == "." else relative_dir + "/"
        specs = [(p, s) for p, s in specs if prefix.startswith(p)]
        if ".gitignore" in filenames:
            spec = _read_gitignore(Path(directory) / ".gitignore")
            if spec is not None:
                specs.append((prefix, spec))
        # os.walk lists a link to a folder with the folders and never enters it;
        # like git, the walk lists it as a file (`load` skips it).
        links = [name for name in dirnames if os.path.islink(os.path.join(directory, name))]
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name != ".git"
            and name not in links
            and not extra.match_file(f"{prefix}{name}/")
            and not _ignored(specs, f"{prefix}{name}/")
        )
        for name in sorted([*filenames, *links]):
            if name != ".git" and not _ignored(specs, prefix + name):
                yield prefix + name


def _read_gitignore(path: Path) -> pathspec.GitIgnoreSpec | None:
    """The patterns of a .gitignore; like git (2.32+), one that is a link is not read."""
    try:
        lines = _read_no_follow(path).decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ignored(specs: Sequence[tuple[str, pathspec.GitIgnoreSpec]], key: str) -> bool:
    """Git's rule: the deepest .gitignore with a matching pattern decides."""
    for prefix, spec in reversed(specs):
        result = spec.check_file(key[len(prefix) :])
        if result.include is not None:
            return bool(result.include)
    return False


def _read_no_follow(path: Path) -> bytes:
    """The file's bytes; OSError if it is a symbolic link (even one put there since the
    check: O_NOFOLLOW makes the open itself refuse it)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with open(fd, "rb") as handle:
        return handle.read()


def _decode(data: bytes) -> str | None:
    """UTF-8 text with "\n" line ends (a leading byte order mark is dropped), or None."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return text.replace("\r\n", "\n")


def _document(key: str, text: str, data: bytes, *, title: str = "") -> Document:
    language, kind = classify(key)
    return Document(
        key=key,
        text=text,
        kind=kind,
        language=language,
        content_hash=hashlib.sha256(data).hexdigest(),
        title=title,
    )
