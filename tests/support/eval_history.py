"""The known history of the evaluation tests: the cut, then two commits of known lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from git_repo import GitRepo

GEOMETRY_AT_CUT = """\
def area(width, height):
    return width * height


class Box:
    def volume(self):
        return 0
"""
STRINGS = """\
def shout(text):
    return text.upper()
"""
APP = """\
from pkg.geometry import area
from pkg.strings import shout


def report(w, h):
    # compute the area
    size = area(w, h)
    label = shout("size")
    print(label)
    print(label)
    return (
        label,
    )
"""
GEOMETRY_AFTER = """\
def area(width, height):
    return width * height


class Box:
    def volume(self):
        return self.w * self.h * self.d

    def footprint(self):
        return area(self.w, self.h)
"""


@dataclass
class History:
    repo: GitRepo
    cut: str  # the commit index and training see
    app: str  # adds pkg/app.py (and a README line: not Python)
    geometry: str  # modifies pkg/geometry.py

    @property
    def root(self) -> Path:
        return self.repo.root


def build_history(root: Path) -> History:
    repo = GitRepo.create(root)
    repo.write("pkg/geometry.py", GEOMETRY_AT_CUT)
    repo.write("pkg/strings.py", STRINGS)
    repo.write("README.md", "# demo\n")
    cut = repo.commit("cut: geometry and strings")
    repo.write("pkg/app.py", APP)
    repo.write("README.md", "# demo\n\nNow with a report.\n")
    app = repo.commit("add the report")
    repo.write("pkg/geometry.py", GEOMETRY_AFTER)
    geometry = repo.commit("boxes have a footprint")
    return History(repo, cut, app, geometry)
