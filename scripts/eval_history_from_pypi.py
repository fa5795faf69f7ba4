"""A git history made of a PyPI package's releases, for `mochi eval` on a real project.

    python scripts/eval_history_from_pypi.py PACKAGE --versions 1.0,1.1,1.2 --out DIR

Downloads each version's source distribution (PyPI's simple index, sha256 checked),
unpacks it, and commits its Python sources (the package, without tests, docs, examples
and build scripts; a `src/` layout is flattened so a move into `src/` changes no path) as
one commit per release, oldest first: message "release vX", tag "vX", author and
committer dates one day apart in release order. Then, e.g.:

    mochi eval DIR --since v1.1 --until v1.2
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

SKIPPED_DIRS = {
    "tests",
    "test",
    "testing",
    "docs",
    "doc",
    "examples",
    "example",
    "benchmarks",
    "bench",
    "scripts",
    "tools",
    "build",
    "dist",
    ".github",
}
SKIPPED_FILES = {"setup.py", "conftest.py", "noxfile.py", "tasks.py", "fabfile.py", "versioneer.py"}
EPOCH = 1_600_000_000  # the first release's date; each next one a day later
DAY = 86_400
AUTHOR = ("Release History", "releases@example.invalid")


SDIST_ENDINGS = (".tar.gz", ".zip", ".tar.bz2", ".tgz")


def download_sdist(package: str, version: str, folder: Path) -> Path:
    """The sdist of `package==version`, downloaded into `folder` from PyPI's simple index
    (its JSON form, PEP 691), sha256 checked.

    Not `pip download`: pip builds an sdist's metadata to check its version, and an old
    flit-built sdist reads its version by importing the package, which finds the one
    installed here (more-itertools 8.12.0 "has inconsistent version ... 10.8.0").
    """
    import hashlib
    import re

    import httpx

    folder.mkdir(parents=True, exist_ok=True)
    project = re.sub(r"[-_.]+", "-", package).lower()
    answer = httpx.get(
        f"https://pypi.org/simple/{project}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
        timeout=60,
        follow_redirects=True,
    )
    answer.raise_for_status()
    names = {
        f"{stem}-{version}{end}"
        for stem in {package, project, project.replace("-", "_")}
        for end in SDIST_ENDINGS
    }
    files = [f for f in answer.json()["files"] if f["filename"] in names]
    if len(files) != 1:
        raise SystemExit(f"expected one sdist for {package}=={version} on PyPI, found {len(files)}")
    release = files[0]
    archive = folder / release["filename"]
    if not archive.is_file():  # else: downloaded by an earlier run
        data = httpx.get(release["url"], timeout=300, follow_redirects=True)
        data.raise_for_status()
        if hashlib.sha256(data.content).hexdigest() != release["hashes"]["sha256"]:
            raise SystemExit(f"{release['filename']}: sha256 does not match PyPI's")
        partial = archive.with_name(archive.name + ".part")
        partial.write_bytes(data.content)
        partial.replace(archive)
    return archive


def unpack(archive: Path, folder: Path) -> Path:
    """Unpack an sdist; returns its top folder (`name-version/`)."""
    folder.mkdir(parents=True, exist_ok=True)
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(folder)
    else:
        with tarfile.open(archive) as tar:
            tar.extractall(folder, filter="data")
    entries = [p for p in folder.iterdir() if p.is_dir()]
    return entries[0] if len(entries) == 1 else folder


def python_sources(top: Path) -> dict[str, bytes]:
    """Repository path -> content of the release's Python sources."""
    files: dict[str, bytes] = {}
    for path in sorted(top.rglob("*.py")):
        rel = PurePosixPath(path.relative_to(top).as_posix())
        parts = rel.parts
        if parts[0] == "src":
            parts = parts[1:]
        if not parts or any(p in SKIPPED_DIRS or p.endswith(".egg-info") for p in parts[:-1]):
            continue
        if len(parts) == 1 and parts[0] in SKIPPED_FILES:
            continue
        if parts[-1].startswith("test_") or parts[-1].endswith("_test.py"):
            continue
        files["/".join(parts)] = path.read_bytes()
    return files


def _git(repo: Path, *args: str, date: int | None = None) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": AUTHOR[0],
        "GIT_AUTHOR_EMAIL": AUTHOR[1],
        "GIT_COMMITTER_NAME": AUTHOR[0],
        "GIT_COMMITTER_EMAIL": AUTHOR[1],
    }
    if date is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"@{date} +0000"
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def build_history(releases: Sequence[tuple[str, Path]], out: Path) -> Path:
    """A new git repository at `out` with one commit per (version, sdist), in order."""
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out} exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    _git(out, "init", "-q", "-b", "main")
    with tempfile.TemporaryDirectory() as scratch:
        for i, (version, archive) in enumerate(releases):
            files = python_sources(unpack(archive, Path(scratch) / version))
            if not files:
                raise SystemExit(f"no Python sources in {archive.name}")
            for entry in out.iterdir():
                if entry.is_dir() and entry.name != ".git":
                    shutil.rmtree(entry)
                elif entry.is_file():
                    entry.unlink()
            for rel, data in files.items():
                target = out / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            _git(out, "add", "-A")
            date = EPOCH + i * DAY
            _git(out, "commit", "-q", "--allow-empty", "-m", f"release v{version}", date=date)
            _git(out, "tag", f"v{version}", date=date)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("package", help="a PyPI project name, e.g. toolz")
    parser.add_argument("--versions", required=True, help="comma-separated, oldest first")
    parser.add_argument("--out", required=True, type=Path, help="the new repository's folder")
    parser.add_argument(
        "--sdists", type=Path, help="keep the downloads here (default: a temporary folder)"
    )
    args = parser.parse_args(argv)
    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        downloads = args.sdists or Path(tmp)
        releases = [(v, download_sdist(args.package, v, downloads)) for v in versions]
        repo = build_history(releases, args.out)
    print(f"{repo}: {len(versions)} releases of {args.package} (tags v{versions[0]}..)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
