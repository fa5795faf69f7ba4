"""A small Python repository (real git) for the handler and durability tests."""

from __future__ import annotations

from pathlib import Path

from git_repo import GitRepo

MODULES = {
    "geometry.py": '''"""Points and distances."""


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def distance(self, other):
        dx = self.x - other.x
        dy = self.y - other.y
        return (dx * dx + dy * dy) ** 0.5


def centroid(points):
    """The mean point."""
    total_x = sum(p.x for p in points)
    total_y = sum(p.y for p in points)
    return Point(total_x / len(points), total_y / len(points))
''',
    "stats.py": '''"""Small statistics."""


def mean(values):
    """Arithmetic mean."""
    total = sum(values)
    return total / len(values)


def variance(values):
    m = mean(values)
    return sum((v - m) ** 2 for v in values) / len(values)


def clamp(value, low, high):
    if value < low:
        return low
    if value > high:
        return high
    return value
''',
    "text.py": '''"""Text helpers."""


def words(text):
    return [w for w in text.split() if w]


def title(text):
    parts = words(text)
    return " ".join(p[:1].upper() + p[1:] for p in parts)


def count_lines(text):
    count = 0
    for line in text.splitlines():
        if line.strip():
            count += 1
    return count
''',
}

LATER = '''"""Queues."""


def drain(queue):
    seen = set()
    while queue:
        node = queue.pop()
        seen.add(node)
    return seen


def first_or_none(items):
    for item in items:
        if item is not None:
            return item
    return None
'''


def make_code_repo(root: Path) -> GitRepo:
    repo = GitRepo.create(root)
    for name, text in MODULES.items():
        repo.write(name, text)
        repo.commit(f"add {name}")
    return repo


def add_later_commit(repo: GitRepo) -> str:
    repo.write("queues.py", LATER)
    return repo.commit("add queues")
