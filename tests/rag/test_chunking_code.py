"""Code is chunked by syntax unit: functions, methods, classes and the code between them."""

from __future__ import annotations

import itertools
import sys
import time
from dataclasses import dataclass

import pytest

from mochi.rag.chunking import (
    DefaultChunker,
    GrammarCache,
    GrammarUnavailable,
    TreeSitterChunker,
)
from mochi.rag.types import Chunk, DocKind, Document

# Small enough that every sample class is split into its header region and its members.
CAP = 100


@dataclass(frozen=True)
class Sample:
    language: str
    source: str
    units: set[tuple[str, str, int, int]]  # (kind, symbol, start_line, end_line)
    class_context: str  # what a method chunk's context holds


PYTHON = '''"""Shapes and helpers."""
import math

SCALE = 2


class Circle(Shape):
    """A circle."""

    def __init__(self, r: float) -> None:
        self.r = r

    @property
    def area(self) -> float:
        return math.pi * self.r**2


# Doubles a value.
def double(x: float) -> float:
    return x * SCALE


if __name__ == "__main__":
    print(double(Circle(1.0).area))
'''

JAVASCRIPT = """import { pi } from "./math.js";

const SCALE = 2;

class Circle extends Shape {
  constructor(r) {
    super();
    this.r = r;
  }

  area() {
    return pi * this.r * this.r;
  }
}

/** Doubles a value. */
export function double(x) {
  return x * SCALE;
}

const half = (x) => x / 2;

console.log(double(new Circle(1).area()));
"""

TYPESCRIPT = """import { Shape } from "./shape";

export interface Sized {
  size(): number;
}

export class Stack<T> implements Sized {
  private items: T[] = [];

  push(item: T): void {
    this.items.push(item);
  }

  size(): number {
    return this.items.length;
  }
}

export function makeStack(): Stack<number> {
  return new Stack<number>();
}

const stack = makeStack();
"""

TSX = """import React from "react";

export function Greeting({ name }: { name: string }) {
  return <h1>Hello {name}</h1>;
}

export const Button = () => <button>ok</button>;
"""

GO = """package shapes

import "math"

// Circle is round.
type Circle struct {
\tR float64
}

// Area is pi r squared.
func (c *Circle) Area() float64 {
\treturn math.Pi * c.R * c.R
}

func (c Circle) Scale(k float64) Circle {
\treturn Circle{R: c.R * k}
}

func Double(x float64) float64 {
\treturn x * 2
}

var Unit = Circle{R: 1}
"""

RUST = """use std::f64::consts::PI;

const SCALE: f64 = 2.0;

/// A circle.
#[derive(Debug)]
pub struct Circle {
    r: f64,
}

impl Circle {
    pub fn new(r: f64) -> Self {
        Circle { r }
    }

    pub fn area(&self) -> f64 {
        PI * self.r * self.r
    }
}

fn double(x: f64) -> f64 {
    x * SCALE
}

fn main() {
    println!("{}", double(Circle::new(1.0).area()));
}
"""

JAVA = """package shapes;

import java.util.List;

/** A circle. */
public class Circle extends Shape {
    private final double r;

    public Circle(double r) {
        this.r = r;
    }

    @Override
    public double area() {
        return Math.PI * r * r;
    }
}

interface Shape {
    double area();
}

final class MathUtil {
    static double twice(double x) { return 2 * x; }
}
"""

C = """#include <math.h>

#define SCALE 2

/* A circle. */
struct circle {
    double r;
};

typedef struct { double w, h; } rect;

static double area(const struct circle *c)
{
    return M_PI * c->r * c->r;
}

double twice(double x) { return x * SCALE; }

int main(void) {
    struct circle c = {1.0};
    return (int)twice(area(&c));
}
"""

CPP = """#include <cmath>

namespace shapes {

class Circle : public Shape {
public:
    explicit Circle(double r) : r_(r) {}

    double area() const {
        return M_PI * r_ * r_;
    }

private:
    double r_;
};

double Circle::scaled(double k) const {
    return area() * k;
}

double twice(double x) { return 2 * x; }

}  // namespace shapes

int main() {
    return static_cast<int>(shapes::twice(1.0));
}
"""

SAMPLES = [
    Sample(
        "python",
        PYTHON,
        {
            ("module", "", 1, 4),
            ("class", "Circle", 7, 8),
            ("method", "Circle.__init__", 10, 11),
            ("method", "Circle.area", 13, 15),
            ("function", "double", 18, 20),
            ("module", "", 23, 24),
        },
        "class Circle(Shape):",
    ),
    Sample(
        "javascript",
        JAVASCRIPT,
        {
            ("module", "", 1, 3),
            ("class", "Circle", 5, 5),
            ("method", "Circle.constructor", 6, 9),
            ("method", "Circle.area", 11, 14),  # the class's closing brace joins its last member
            ("function", "double", 16, 19),
            ("function", "half", 21, 21),
            ("module", "", 23, 23),
        },
        "class Circle extends Shape",
    ),
    Sample(
        "typescript",
        TYPESCRIPT,
        {
            ("module", "", 1, 1),
            ("class", "Sized", 3, 5),
            ("class", "Stack", 7, 8),
            ("method", "Stack.push", 10, 12),
            ("method", "Stack.size", 14, 17),
            ("function", "makeStack", 19, 21),
            ("module", "", 23, 23),
        },
        "export class Stack<T> implements Sized",
    ),
    Sample(
        "tsx",
        TSX,
        {
            ("module", "", 1, 1),
            ("function", "Greeting", 3, 5),
            ("function", "Button", 7, 7),
        },
        "",
    ),
    Sample(
        "go",
        GO,
        {
            ("module", "", 1, 3),
            ("class", "Circle", 5, 8),
            ("method", "Circle.Area", 10, 13),
            ("method", "Circle.Scale", 15, 17),
            ("function", "Double", 19, 21),
            ("module", "", 23, 23),
        },
        "type Circle struct",
    ),
    Sample(
        "rust",
        RUST,
        {
            ("module", "", 1, 3),
            ("class", "Circle", 5, 9),
            ("class", "Circle", 11, 11),
            ("method", "Circle.new", 12, 14),
            ("method", "Circle.area", 16, 19),
            ("function", "double", 21, 23),
            ("function", "main", 25, 27),
        },
        "impl Circle",
    ),
    Sample(
        "java",
        JAVA,
        {
            ("module", "", 1, 3),
            ("class", "Circle", 5, 7),
            ("method", "Circle.Circle", 9, 11),
            ("method", "Circle.area", 13, 17),
            ("class", "Shape", 19, 21),
            ("class", "MathUtil", 23, 25),
        },
        "public class Circle extends Shape",
    ),
    Sample(
        "c",
        C,
        {
            ("module", "", 1, 3),
            ("class", "circle", 5, 8),
            ("class", "rect", 10, 10),
            ("function", "area", 12, 15),
            ("function", "twice", 17, 17),
            ("function", "main", 19, 22),
        },
        "",
    ),
    Sample(
        "cpp",
        CPP,
        {
            ("module", "", 1, 3),
            ("class", "Circle", 5, 6),
            ("method", "Circle.Circle", 7, 7),
            ("method", "Circle.area", 9, 11),
            ("class", "Circle", 13, 15),
            ("method", "Circle.scaled", 17, 19),
            ("function", "twice", 21, 21),
            ("module", "", 23, 23),
            ("function", "main", 25, 27),
        },
        "namespace shapes\nclass Circle : public Shape",
    ),
]


def code(language: str, text: str, key: str = "src/file") -> Document:
    return Document(key=key, text=text, kind=DocKind.CODE, language=language, content_hash="h")


def source_lines(text: str, chunk: Chunk) -> str:
    return "\n".join(text.split("\n")[chunk.start_line - 1 : chunk.end_line])


def uncovered(text: str, chunks: list[Chunk]) -> list[int]:
    """Non-blank lines of `text` that no chunk spans."""
    covered = {n for c in chunks for n in range(c.start_line, c.end_line + 1)}
    return [
        n for n, line in enumerate(text.split("\n"), start=1) if line.strip() and n not in covered
    ]


@pytest.fixture(scope="module")
def chunker() -> TreeSitterChunker:
    return TreeSitterChunker(max_chars=CAP)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.language)
def test_units_have_exact_kinds_symbols_and_lines(
    chunker: TreeSitterChunker, sample: Sample
) -> None:
    chunks = chunker.chunk(code(sample.language, sample.source))
    assert {(c.kind, c.symbol, c.start_line, c.end_line) for c in chunks} == sample.units
    assert len(chunks) == len(sample.units)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.language)
def test_chunk_text_is_the_source_lines_and_every_line_is_covered(
    chunker: TreeSitterChunker, sample: Sample
) -> None:
    doc = code(sample.language, sample.source)
    chunks = chunker.chunk(doc)
    for chunk in chunks:
        assert chunk.text == source_lines(sample.source, chunk)
        assert chunk.language == sample.language
        assert chunk.doc_key == doc.key
        assert len(chunk.text) <= CAP
    assert uncovered(sample.source, chunks) == []
    assert [c.start_line for c in chunks] == sorted(c.start_line for c in chunks)


@pytest.mark.parametrize(
    "sample", [s for s in SAMPLES if s.class_context], ids=lambda s: s.language
)
def test_method_context_holds_the_class_declaration(
    chunker: TreeSitterChunker, sample: Sample
) -> None:
    chunks = chunker.chunk(code(sample.language, sample.source))
    methods = [c for c in chunks if c.kind == "method"]
    assert methods
    for method in methods:
        assert method.context.endswith(sample.class_context), method
        assert "return" not in method.context  # headers only, never bodies


def test_functions_at_module_level_have_no_context(chunker: TreeSitterChunker) -> None:
    chunks = chunker.chunk(code("python", PYTHON))
    (double,) = [c for c in chunks if c.symbol == "double"]
    assert double.context == ""
    assert double.text.startswith("# Doubles a value.\ndef double(")


def test_decorators_and_doc_comments_belong_to_their_unit(chunker: TreeSitterChunker) -> None:
    py = {c.symbol: c for c in chunker.chunk(code("python", PYTHON))}
    assert py["Circle.area"].text.startswith("    @property\n")
    rust = {c.start_line: c for c in chunker.chunk(code("rust", RUST))}
    assert rust[5].text.startswith("/// A circle.\n#[derive(Debug)]\npub struct Circle")
    go = {c.symbol: c for c in chunker.chunk(code("go", GO))}
    assert go["Circle.Area"].text.startswith("// Area is pi r squared.\nfunc (c *Circle)")


def test_a_trailing_comment_stays_with_its_own_line(chunker: TreeSitterChunker) -> None:
    text = "int x = 1; // the count\nint f(void) { return x; }\n"
    chunks = chunker.chunk(code("c", text))
    assert [(c.kind, c.symbol, c.start_line, c.end_line) for c in chunks] == [
        ("module", "", 1, 1),
        ("function", "f", 2, 2),
    ]


def test_a_small_class_is_one_chunk() -> None:
    chunks = TreeSitterChunker().chunk(code("python", PYTHON))
    assert ("class", "Circle", 7, 15) in {
        (c.kind, c.symbol, c.start_line, c.end_line) for c in chunks
    }
    assert not [c for c in chunks if c.kind == "method"]


def test_nested_classes_qualify_their_symbols() -> None:
    text = (
        "class Outer:\n"
        "    class Inner:\n"
        "        def run(self) -> int:\n"
        "            return 1\n"
        "\n"
        "        def stop(self) -> int:\n"
        "            return 2\n"
    )
    chunks = TreeSitterChunker(max_chars=60).chunk(code("python", text))
    methods = {c.symbol: c for c in chunks if c.kind == "method"}
    assert set(methods) == {"Outer.Inner.run", "Outer.Inner.stop"}
    assert methods["Outer.Inner.run"].context == "class Outer:\nclass Inner:"


def test_rust_trait_default_methods_and_impl_for() -> None:
    text = (
        "impl fmt::Display for Wrapper<i32> {\n"
        "    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {\n"
        '        write!(f, "wrapped")\n'
        "    }\n"
        "}\n"
    )
    chunks = TreeSitterChunker(max_chars=100).chunk(code("rust", text))
    assert [(c.kind, c.symbol, c.start_line, c.end_line) for c in chunks] == [
        ("class", "Wrapper", 1, 1),
        ("method", "Wrapper.fmt", 2, 5),
    ]
    assert chunks[1].context == "impl fmt::Display for Wrapper<i32>"


def test_oversize_function_is_split_into_consecutive_pieces_without_losing_lines() -> None:
    body = "".join(f"    total += {i} * x  # step {i}\n" for i in range(120))
    text = f"import os\n\n\ndef big(x: int) -> int:\n    total = 0\n{body}    return total\n"
    chunks = TreeSitterChunker(max_chars=400).chunk(code("python", text))
    pieces = [c for c in chunks if c.symbol == "big"]
    assert len(pieces) > 5
    assert all(c.kind == "function" and len(c.text) <= 400 for c in pieces)
    assert pieces[0].start_line == 4 and pieces[-1].end_line == text.count("\n")
    for before, after in itertools.pairwise(pieces):
        assert after.start_line == before.end_line + 1
    assert pieces[0].context == ""
    assert all(c.context == "def big(x: int) -> int:" for c in pieces[1:])
    assert "".join(c.text + "\n" for c in pieces) == "".join(text.splitlines(True)[3:])
    assert uncovered(text, chunks) == []


def test_oversize_class_without_methods_is_split_as_class_pieces() -> None:
    fields = "".join(f"\tField{i} int // field number {i}\n" for i in range(60))
    text = f"package p\n\ntype Big struct {{\n{fields}}}\n"
    chunks = TreeSitterChunker(max_chars=300).chunk(code("go", text))
    pieces = [c for c in chunks if c.symbol == "Big"]
    assert len(pieces) > 3 and all(c.kind == "class" for c in pieces)
    assert pieces[0].context == "" and pieces[1].context == "type Big struct"
    assert uncovered(text, chunks) == []


def test_a_line_longer_than_the_cap_is_cut_but_kept() -> None:
    text = "const data = [" + ", ".join(str(i) for i in range(400)) + "];\n"
    chunks = TreeSitterChunker(max_chars=200).chunk(code("javascript", text))
    assert len(chunks) > 5
    assert all(c.start_line == c.end_line == 1 and len(c.text) <= 200 for c in chunks)
    assert "".join(c.text for c in chunks) == text.rstrip("\n")


def test_output_is_deterministic(chunker: TreeSitterChunker) -> None:
    doc = code("cpp", CPP)
    assert chunker.chunk(doc) == TreeSitterChunker(max_chars=CAP).chunk(doc)


def test_blank_source_gives_no_chunks(chunker: TreeSitterChunker) -> None:
    assert chunker.chunk(code("python", "\n\n   \n")) == []


def test_language_without_a_unit_table_is_refused(chunker: TreeSitterChunker) -> None:
    with pytest.raises(GrammarUnavailable):
        chunker.chunk(code("yaml", "a: 1\n"))


def test_parsers_are_cached_per_instance() -> None:
    grammars = GrammarCache()
    first = grammars.parser("python")
    assert first is not None
    assert grammars.parser("python") is first
    assert GrammarCache().parser("python") is not first


def test_missing_tree_sitter_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tree_sitter_language_pack", None)
    monkeypatch.setitem(sys.modules, "tree_sitter_python", None)
    with pytest.raises(ImportError, match="pip install tree-sitter-language-pack"):
        GrammarCache().parser("python")
    chunks = DefaultChunker().chunk(code("python", "def f():\n    return 1\n"))
    assert [(c.kind, c.start_line, c.end_line) for c in chunks] == [("window", 1, 2)]


def test_a_300_line_file_is_chunked_in_well_under_5_ms() -> None:
    methods = "".join(
        f"    def method_{i}(self, x: int) -> int:\n"
        f'        """Step {i}."""\n'
        f"        y = x * {i}\n"
        f"        return y + self.base\n\n"
        for i in range(34)
    )
    functions = "".join(
        f"def helper_{i}(a: int, b: int) -> int:\n    return a * {i} + b\n\n\n" for i in range(30)
    )
    text = f"import os\nimport sys\n\n\nclass Worker:\n    base = 1\n\n{methods}\n{functions}"
    assert 280 <= text.count("\n") <= 320
    chunker = TreeSitterChunker()
    doc = code("python", text)
    chunker.chunk(doc)  # the parser is loaded on first use
    best = min(_elapsed(chunker, doc) for _ in range(20))
    assert best < 0.005


def _elapsed(chunker: TreeSitterChunker, doc: Document) -> float:
    start = time.perf_counter()
    chunker.chunk(doc)
    return time.perf_counter() - start
