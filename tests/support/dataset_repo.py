"""A small repository with a known history for the dataset builder tests.

c1  Add geometry helpers and the web app  (geometry.py, web/app.js, .env with a fake key)
c2  Add the credentials helper            (pkg/creds.py holds an AKIA... key id)
c3  Add volume, rework perimeter          (geometry.py)
c4  Add subtract to the web app           (web/app.js)
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from git_repo import GitRepo

ENV_KEY = "sk-proj-Zq81mVx0TfakefakefakeKEY1234567890abcd"
AKIA_KEY = "AKIAIOSFODNN7EXAMPLE"

GEOMETRY_V1 = '''"""Geometry helpers."""

import math


def area(radius):
    """Area of a circle of this radius."""
    squared = radius * radius
    return math.pi * squared


def perimeter(radius):
    """Perimeter of a circle."""
    doubled = 2 * radius
    return math.pi * doubled


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def norm(self):
        total = self.x * self.x + self.y * self.y
        if total == 0:
            return 0.0
        return math.sqrt(total)


if __name__ == "__main__":
    print(area(1.0))
'''

GEOMETRY_V2 = GEOMETRY_V1.replace(
    "    doubled = 2 * radius\n    return math.pi * doubled\n",
    "    diameter = radius + radius\n    return math.pi * diameter\n",
).replace(
    "\n\nclass Point:",
    '''

def volume(radius):
    """Volume of a ball of this radius."""
    cubed = radius * radius * radius
    scaled = 4.0 * cubed / 3.0
    return math.pi * scaled


class Point:''',
)

APP_V1 = """/** Add two numbers. */
function add(a, b) {
  const sum = a + b;
  return sum;
}

function greet(name) {
  const text = "hello " + name;
  console.log(text);
  return text;
}

module.exports = { add, greet };
"""

APP_V2 = APP_V1.replace(
    "\nmodule.exports = { add, greet };",
    """
/** Subtract b from a. */
function subtract(a, b) {
  const difference = a - b;
  return difference;
}

module.exports = { add, greet, subtract };""",
)

CREDS = f'''"""Where the cloud key comes from."""


def credentials():
    key_id = "{AKIA_KEY}"
    return key_id


def region():
    name = "eu-west-1"
    return name
'''


@dataclass
class DatasetRepo:
    repo: GitRepo
    commits: list[str]  # c1..c4
    times: list[int]

    @property
    def root(self) -> Path:
        return self.repo.root


def _commit(repo: GitRepo, message: str, when: int) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test Author",
        "GIT_AUTHOR_EMAIL": "author@example.com",
        "GIT_COMMITTER_NAME": "Test Author",
        "GIT_COMMITTER_EMAIL": "author@example.com",
        "GIT_AUTHOR_DATE": f"{when} +0000",
        "GIT_COMMITTER_DATE": f"{when} +0000",
    }
    for args in (["add", "-A"], ["commit", "-q", "-m", message]):
        subprocess.run(["git", *args], cwd=repo.root, env=env, check=True, capture_output=True)
    return repo.git("rev-parse", "HEAD").strip()


def build_dataset_repo(repo: GitRepo) -> DatasetRepo:
    times = [1_700_000_000 + 3600 * i for i in range(4)]
    repo.write("pkg/geometry.py", GEOMETRY_V1)
    repo.write("web/app.js", APP_V1)
    repo.write(".env", f"OPENAI_API_KEY={ENV_KEY}\n")
    c1 = _commit(repo, "Add geometry helpers and the web app", times[0])
    repo.write("pkg/creds.py", CREDS)
    c2 = _commit(repo, "Add the credentials helper", times[1])
    repo.write("pkg/geometry.py", GEOMETRY_V2)
    c3 = _commit(repo, "Add volume, rework perimeter", times[2])
    repo.write("web/app.js", APP_V2)
    c4 = _commit(repo, "Add subtract to the web app", times[3])
    return DatasetRepo(repo, [c1, c2, c3, c4], times)
