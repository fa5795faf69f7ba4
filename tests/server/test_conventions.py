"""The convention check's core (mochi.server.assist.conventions), without LSP: per-line
surprise from real token scores (the tiny random Llama for the mechanics, SmolLM2-135M
for what a real model finds unusual), naming styles and findings on synthetic code,
the norms' cache and the diff parser on real `git diff` output."""

from __future__ import annotations

from pathlib import Path

import pytest
from git_repo import GitRepo

from mochi.server.assist.conventions import (
    CheckSettings,
    RepositoryNorms,
    build_norms,
    cached_norms,
    check_diff,
    check_text,
    load_norms,
    norms_key,
    parse_diff,
)
from mochi.server.assist.conventions.naming import name_sites, styles_of, to_style
from mochi.server.assist.conventions.surprise import (
    line_surprises,
    quantile,
    quantile_table,
    rank,
    score_text,
)
from mochi.server.generation.transformers_backend import TransformersGenerator
from mochi.server.generation.types import CancelToken, GenerationCancelled

SNAKE_MODULE = '''"""Orders."""

MAX_ITEMS = 10
DEFAULT_NAME = "order"


def load_order(path):
    order_text = path.read_text()
    return parse_order(order_text)


def parse_order(text):
    fields = text.split(",")
    return fields


class OrderBook:
    def add_order(self, order):
        self.orders.append(order)

    def remove_order(self, order):
        self.orders.remove(order)
'''


def repository(n: int = 6) -> list[tuple[str, str]]:
    """A repository written in snake_case functions, PascalCase classes, UPPER constants."""
    return [(f"pkg/orders_{i}.py", SNAKE_MODULE.replace("order", f"order{i}")) for i in range(n)]


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path, tiny_adapters: dict[str, Path]) -> TransformersGenerator:
    adapters = {name: str(path) for name, path in tiny_adapters.items()}
    return TransformersGenerator(str(tiny_model_dir), dtype="float32", adapters=adapters)


# -- naming ------------------------------------------------------------------------------


def test_styles_of_names_and_their_rewriting() -> None:
    assert styles_of("load_order") == {"snake_case"}
    assert styles_of("loadOrder") == {"camelCase"}
    assert styles_of("OrderBook") == {"PascalCase"}
    assert styles_of("MAX_ITEMS") == {"UPPER_CASE"}
    assert styles_of("value") == {"snake_case", "camelCase"}  # one word fits both
    assert styles_of("_private_name") == {"snake_case"}
    assert styles_of("get_HTTPResponse") == set()  # mixed: no style
    assert to_style("fetchUserName", "snake_case") == "fetch_user_name"
    assert to_style("parseHTTPHeader", "snake_case") == "parse_http_header"
    assert to_style("shape_registry", "PascalCase") == "ShapeRegistry"
    assert to_style("_maxItems", "UPPER_CASE") == "_MAX_ITEMS"
    assert to_style("load_order", "camelCase") == "loadOrder"


def test_python_names_by_kind() -> None:
    sites = {(s.kind, s.name) for s in name_sites("m.py", SNAKE_MODULE)}
    assert {
        ("constant", "MAX_ITEMS"),
        ("function", "load_order"),
        ("variable", "order_text"),
        ("variable", "path"),
        ("class", "OrderBook"),
        ("method", "add_order"),
    } <= sites
    site = next(s for s in name_sites("m.py", SNAKE_MODULE) if s.name == "add_order")
    assert SNAKE_MODULE.split("\n")[site.line][site.start : site.end] == "add_order"


def test_names_unlike_the_repository_are_found_with_its_spelling() -> None:
    norms = build_norms(repository(), None, model="none")
    text = (
        "def loadOrder(path):\n    return path\n\n\n"
        "def save_order(order):\n    return order\n\n\n"
        "class order_queue:\n    pass\n"
    )
    findings = check_text(None, norms, "pkg/new.py", text)
    assert [(f.kind, f.line, f.suggestion) for f in findings] == [
        ("naming", 0, "load_order"),
        ("naming", 8, "OrderQueue"),
    ]
    first = findings[0]
    assert text.split("\n")[first.line][first.start : first.end] == "loadOrder"
    assert "snake_case" in first.message and first.score == pytest.approx(1.0)


def test_a_kind_without_a_dominant_style_is_not_judged() -> None:
    mixed = [
        (f"m{i}.py", f"def {'fetchItem' if i % 2 else 'fetch_item'}{i}():\n    pass\n")
        for i in range(10)
    ]
    norms = build_norms(mixed, None, model="none")
    assert norms.dominant_style("python", "function") is None
    assert check_text(None, norms, "x.py", "def fetchOther():\n    pass\n") == []


# -- surprise ----------------------------------------------------------------------------


def test_line_surprise_leaves_out_indentation_blank_and_comment_lines(
    tiny: TransformersGenerator,
) -> None:
    text = "def f(values):\n\n    # a comment here\n    total = sum(values)\n    return total\n"
    scores = score_text(tiny, text, None, CancelToken())
    lines = {s.line: s for s in line_surprises(text, scores, min_tokens=1, min_context=0)}
    assert set(lines) == {0, 3, 4}
    # by default the first tokens of a file have too little before them to be judged
    assert 0 not in {s.line for s in line_surprises(text, scores, min_tokens=1)}
    spans = scores.spans(len(text))
    start = text.index("    total")
    own = [lp for s, e, lp in spans if start <= s < start + 23 and text[s:e].strip()]
    assert lines[3].tokens == len(own)
    assert lines[3].surprise == pytest.approx(-sum(own) / len(own))
    assert lines[3].start == 4 and lines[3].end == len("    total = sum(values)")


def test_quantiles_and_ranks() -> None:
    table = quantile_table([float(v) for v in range(101)])
    assert quantile(table, 0.97) == pytest.approx(97.0)
    assert rank(table, 50.0) == pytest.approx(0.5)
    assert rank(table, 1000.0) == 1.0 and rank(table, -1.0) == 0.0


def test_a_cancelled_check_stops(tiny: TransformersGenerator) -> None:
    norms = build_norms(repository(2), tiny, model="tiny")
    cancel = CancelToken()
    cancel.cancel()
    with pytest.raises(GenerationCancelled):
        check_text(tiny, norms, "pkg/a.py", SNAKE_MODULE, cancel=cancel)


@pytest.mark.model
def test_rare_tokens_are_more_surprising_than_a_repeated_common_line(
    smollm2_store: object,
) -> None:
    from mochi.server.models import default_model

    model = TransformersGenerator(str(default_model(smollm2_store)), dtype="float32")  # type: ignore[arg-type]
    common = "    result = result + 1\n" * 6
    odd = "    qz_Xv9 = ħ✓ʬ(Ωk ^ 0x7f3e!!, ⸘ζ)\n"
    text = "def tally(result):\n" + common + odd + "    return result\n"
    lines = line_surprises(text, score_text(model, text, None, CancelToken()))
    by_line = {s.line: s.surprise for s in lines}
    assert by_line[7] > 2 * max(by_line[n] for n in range(2, 7))

    norms = build_norms(repository(), model, model="smollm2", sample_files=4)
    assert norms.has_surprise and norms.lines > 20
    findings = check_text(model, norms, "pkg/tally.py", text, settings=CheckSettings(quantile=0.9))
    surprising = [f for f in findings if f.kind == "surprise"]
    assert 7 in {f.line for f in surprising}
    assert all(f.line not in range(2, 7) for f in surprising)
    flagged = next(f for f in surprising if f.line == 7)
    assert flagged.start == 4 and flagged.score > norms.surprise_at(0.9)
    assert flagged.suggestion is None or flagged.suggestion.strip() != odd.strip()
    model.close()


# -- norms and their cache ---------------------------------------------------------------


def test_norms_are_cached_by_model_and_adapter(tiny: TransformersGenerator, tmp_path: Path) -> None:
    builds: list[str | None] = []

    def build(adapter: str | None) -> RepositoryNorms:
        builds.append(adapter)
        return build_norms(repository(2), tiny, model="tiny", adapter=adapter, sample_files=2)

    key = norms_key("tiny", None)
    first = cached_norms(tmp_path, key, lambda: build(None))
    again = cached_norms(tmp_path, key, lambda: build(None))
    assert builds == [None]  # the second came from the JSON file
    assert again == first and first.has_surprise and first.files == 2
    assert load_norms(tmp_path, key) == first
    assert norms_key("tiny", "alpha") != key and norms_key("other", None) != key
    adapted = cached_norms(tmp_path, norms_key("tiny", "alpha"), lambda: build("alpha"))
    assert builds == [None, "alpha"]
    assert adapted.adapter == "alpha" and adapted.surprise_quantiles != first.surprise_quantiles
    cached_norms(tmp_path, key, lambda: build(None), refresh=True)
    assert builds == [None, "alpha", None]


def test_a_damaged_cache_file_is_rebuilt(tmp_path: Path) -> None:
    key = norms_key("none", None)
    (tmp_path / f"norms-{key}.json").write_text("{not json", encoding="utf-8")
    assert load_norms(tmp_path, key) is None
    norms = cached_norms(tmp_path, key, lambda: build_norms(repository(), None, model="none"))
    assert load_norms(tmp_path, key) == norms


# -- diffs -------------------------------------------------------------------------------


def test_diff_lines_from_real_git_output(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "ws")
    repo.write("a.py", "one\ntwo\nthree\nfour\nfive\n")
    repo.write("gone.py", "x = 1\n")
    repo.commit("first")
    repo.write("a.py", "zero\none\nTWO\nthree\nfive\nsix\n")
    (repo.root / "gone.py").unlink()
    repo.write("new.py", "a = 1\nb = 2\n")
    repo.git("add", "-A")
    for context in ("-U0", "-U3"):
        parsed = parse_diff(repo.git("diff", "--cached", context))
        assert parsed.added == {"a.py": {0, 2, 5}, "new.py": {0, 1}}
        assert parsed.removed == {"a.py": {1, 3}, "gone.py": {0}}


def test_a_diff_is_checked_on_its_added_lines_only(tmp_path: Path) -> None:
    before = "def oldName():\n    pass\n"
    after = before + "\n\ndef newName():\n    pass\n\n\ndef fine_name():\n    pass\n"
    repo = GitRepo.create(tmp_path / "ws")
    repo.write("pkg/m.py", before)
    repo.commit("first")
    repo.write("pkg/m.py", after)
    diff = repo.git("diff")
    norms = build_norms(repository(), None, model="none")
    findings = check_diff(None, norms, diff, lambda p: (repo.root / p).read_text())
    assert [(f.path, f.line, f.suggestion) for f in findings] == [("pkg/m.py", 4, "new_name")]
