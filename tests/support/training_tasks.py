"""Two clearly different synthetic code tasks for the tiny model (training tests)."""

from __future__ import annotations

from mochi.trainer.samples import Sample

EOS = "<|endoftext|>"
_OPS = [("add", "+"), ("sub", "-"), ("mul", "*"), ("div", "/"), ("mod", "%"), ("pow", "**")]
_WORDS = ["item", "node", "value", "path", "line", "name", "text", "user", "row", "key"]


def task_a(count: int, offset: int = 0) -> list[Sample]:
    """Arithmetic one-liners: `def add3(a, b):` / `return a + b`."""
    samples = []
    for i in range(offset, offset + count):
        name, op = _OPS[i % len(_OPS)]
        samples.append(
            Sample(
                prompt=f"# {name} two numbers\n",
                completion=f"def {name}{i}(a, b):\n    return a {op} b\n{EOS}",
                kind="fim",
            )
        )
    return samples


def task_b(count: int, offset: int = 0) -> list[Sample]:
    """Loops that skip None: `for node in nodes:` / `if node is None:` ..."""
    samples = []
    for i in range(offset, offset + count):
        word = _WORDS[i % len(_WORDS)]
        samples.append(
            Sample(
                prompt=f"# print each {word}\n",
                completion=(
                    f"for {word} in {word}s:\n    if {word} is None:\n"
                    f"        continue\n    print({word})\n{EOS}"
                ),
                kind="fim",
            )
        )
    return samples
