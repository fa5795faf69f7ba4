"""Router decisions as specifications: the rule router (pin, rules, language, default),
the learned router (pin and rules first, then the gate over the code before the cursor,
the base model below the threshold), the router built from `[routing]` and an expert
set, and the engine routing once per request, before the prompt, with what it saw."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from recording_generator import RecordingGenerator

from mochi.rag.config import ConfigError
from mochi.rag.prompting.retrieved import ContextBuilder
from mochi.rag.routing import CentroidGate, LinearGate, feature_dim, route_features_many
from mochi.rag.routing.expert_set import ExpertCard, ExpertSet, write_expert_set
from mochi.rag.routing.features import RouteInput
from mochi.rag.types import Hit, SearchFilters
from mochi.server.completion.engine import CompletionEngine, CursorRequest
from mochi.server.completion.explanation import explanation, route_summary
from mochi.server.config import CompletionConfig, RoutingConfig
from mochi.server.generation import CancelToken
from mochi.server.routing import (
    NO_EXPERT,
    LearnedRouter,
    RouteQuery,
    RuleRouter,
    parse_rule,
)
from mochi.server.routing.factory import RoutingSetupError, build_router, load_expert_set

VOCABULARY = ("select", "join", "where", "color", "margin", "padding")


def keyword_embed(texts: Sequence[str]) -> np.ndarray:
    """A deterministic embedder: how often each word of VOCABULARY occurs."""
    return np.array([[t.count(word) for word in VOCABULARY] for t in texts], dtype=float)


SQL = "rows = db.run('select name from users join teams where id = 1')\n"
CSS = "style = {'color': 'red', 'margin': 0, 'padding': 2}\n"
CENTROIDS = {"sql": [1.0, 1.0, 1.0, 0.0, 0.0, 0.0], "css": [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]}


def learned(**kwargs: object) -> LearnedRouter:
    gate = CentroidGate.from_centroids(CENTROIDS, temperature=0.1)
    return LearnedRouter(gate, keyword_embed, **kwargs)  # type: ignore[arg-type]


def query(before: str, path: str = "app/main.py", language: str = "python") -> RouteQuery:
    return RouteQuery("completion", path, language, before)


def test_the_rule_router_keeps_its_order_and_says_why() -> None:
    rules = [("docs/**", "docs"), ("*.sql", "sql")]
    router = RuleRouter(rules)
    available = ["docs", "sql", "python", "default"]
    assert router.route(query("", "docs/a/b.md"), available).reason == "rule 'docs/**'"
    assert router.route(query("", "db/q.sql", "sql"), available).expert == "sql"
    by_language = router.route(query("", "x.py"), available)
    assert (by_language.expert, by_language.reason, by_language.weights) == (
        "python",
        "language",
        (("python", 1.0),),
    )
    assert router.route(query("", "x.go", "go"), available).reason == "default"
    nothing = router.route(query("", "x.go", "go"), ["docs"])
    assert (nothing.expert, nothing.reason) == (None, "no expert")
    assert router.choose("docs/x.md", "markdown", available) == "docs"  # the old API
    router.select("sql")
    assert router.route(query("", "docs/a.md"), available).reason == "pinned"
    router.select(NO_EXPERT)
    assert router.route(query("", "docs/a.md"), available).expert is None
    router.select("docs")
    assert router.choose("x.py", "python", ["python"]) == "python"  # pin not loaded


def test_rules_read_glob_equals_expert() -> None:
    assert parse_rule(" docs/** = docs ") == ("docs/**", "docs")
    assert parse_rule("a=b=c") == ("a=b", "c")
    for bad in ("docs/**", "= docs", "docs/** ="):
        with pytest.raises(ValueError, match="glob = expert"):
            parse_rule(bad)


def test_routing_settings_are_checked() -> None:
    assert RoutingConfig().mode == "rules"  # nothing changes for current users
    assert RoutingConfig(rules=["docs/** = docs"]).parsed_rules() == [("docs/**", "docs")]
    with pytest.raises(ConfigError, match=r"routing.rules\[1\]"):
        RoutingConfig(rules=["a = b", "nonsense"])
    with pytest.raises(ConfigError, match=r"routing\.threshold"):
        RoutingConfig(threshold=1.5)
    with pytest.raises(ConfigError, match=r"routing\.top_k"):
        RoutingConfig(top_k=0)
    with pytest.raises(ConfigError, match=r"routing\.mode"):
        RoutingConfig(mode="magic")  # type: ignore[arg-type]


def test_the_gate_routes_by_the_code_before_the_cursor() -> None:
    router = learned(threshold=0.6)
    sql = router.route(query(CSS + SQL * 3), ["sql", "css"])
    assert (sql.expert, sql.reason) == ("sql", "centroid")
    assert sql.confidence > 0.99 and set(sql.scores) == {"sql", "css"}
    css = router.route(query(SQL + CSS * 3), ["sql", "css"])
    assert css.expert == "css"
    # only the last context_chars characters count
    only_tail = learned(context_chars=len(CSS)).route(query(SQL * 3 + CSS), ["sql", "css"])
    assert only_tail.expert == "css"
    assert learned().route(query(SQL * 3 + CSS), ["sql", "css"]).expert == "sql"


def test_an_unsure_gate_leaves_the_request_to_the_base_model() -> None:
    router = learned(threshold=0.6)
    both = router.route(query("select color"), ["sql", "css"])
    assert both.expert is None and both.weights == ()
    assert both.reason == "centroid: below threshold 0.6 -> base"
    assert both.confidence == pytest.approx(0.5)
    assert learned(threshold=0.4).route(query("select color"), ["sql", "css"]).expert == "css"


def test_pin_and_rules_come_before_the_gate() -> None:
    router = learned(rules=[("styles/**", "css")])
    assert router.route(query(SQL, "styles/x.py"), ["sql", "css"]).reason == "rule 'styles/**'"
    router.select("css")
    pinned = router.route(query(SQL), ["sql", "css"])
    assert (pinned.expert, pinned.reason, pinned.scores) == ("css", "pinned", {})
    router.select(NO_EXPERT)
    assert router.route(query(SQL), ["sql", "css"]).expert is None
    router.select(None)
    assert router.route(query(SQL), ["sql", "css"]).expert == "sql"


def test_experts_that_are_not_loaded_are_never_chosen() -> None:
    router = learned(threshold=0.4)
    assert router.route(query(SQL), ["css"]).expert is None  # sql is sure, but not there
    fallback = router.route(query(SQL), ["python", "other"])  # the gate knows none of them
    assert (fallback.expert, fallback.reason) == ("python", "language")
    assert router.choose("a.py", "python", ["sql", "python"]) == "python"  # no embedding


def test_top_k_reports_weights_and_the_top_expert_generates() -> None:
    gate = CentroidGate.from_centroids(CENTROIDS, temperature=1.0)
    router = LearnedRouter(gate, keyword_embed, top_k=2, threshold=0.0)
    decision = router.route(query(SQL), ["sql", "css"])
    assert decision.expert == "sql" and [n for n, _ in decision.weights] == ["sql", "css"]
    assert sum(w for _, w in decision.weights) == pytest.approx(1.0)


def test_a_trained_gate_routes_with_reason_gate() -> None:
    items = [RouteInput("completion", "python", "db/q.py", SQL * n) for n in range(1, 6)]
    items += [RouteInput("completion", "python", "web/s.py", CSS * n) for n in range(1, 6)]
    vectors = [f.vector for f in route_features_many(items, keyword_embed)]
    gate = LinearGate.fit(vectors, ["sql"] * 5 + ["css"] * 5, seed=0)
    assert gate.dim == feature_dim(len(VOCABULARY))
    decision = LearnedRouter(gate, keyword_embed).route(query(SQL, "db/new.py"), ["sql", "css"])
    assert (decision.expert, decision.reason) == ("sql", "gate")


def test_an_embedder_that_does_not_fit_the_gate_falls_back_to_the_rules() -> None:
    gate = CentroidGate.from_centroids({"sql": [1.0, 0.0], "css": [0.0, 1.0]})
    router = LearnedRouter(gate, keyword_embed)  # six dimensions, not two
    decision = router.route(query(SQL), ["sql", "python"])
    assert (decision.expert, decision.reason) == ("python", "language")


def recorder() -> RecordingGenerator:
    return RecordingGenerator("x = 1", fim="qwen")


class OneHit:
    def retrieve(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        text = "def helper():\n    return 1\n"
        return [Hit("util.py", 3, 4, 1.0, text, "function", "python", symbol="helper")]


def test_the_engine_routes_once_before_the_prompt_and_reports_it() -> None:
    generator = recorder()
    generator.loaded = {"sql": "/a", "css": "/b"}
    engine = CompletionEngine(
        generator,
        learned(),
        CompletionConfig(),
        ContextBuilder(OneHit()),
    )
    text = SQL + "result = helper_\n" + CSS * 3  # after the cursor: not what it routes by
    suggestion = engine.complete(CursorRequest("app/q.py", text, 1, 16), CancelToken())
    assert generator.requests[0].adapter == "sql" == suggestion.adapter
    assert (suggestion.route.expert, suggestion.route.reason) == ("sql", "centroid")
    assert [(c.path, c.start_line, c.end_line) for c in suggestion.contexts] == [("util.py", 3, 4)]
    assert suggestion.contexts[0].preview == "def helper(): return 1"
    assert suggestion.timings.route_ms >= 0


def test_the_explanation_names_expert_reason_weights_and_context() -> None:
    from mochi.server.completion.explanation import CompletionRecord, ContextUse

    route = learned().route(query(SQL), ["sql", "css"])
    record = CompletionRecord(
        "file:///w/q.py",
        "q.py",
        2,
        4,
        "sql",
        route,
        (ContextUse("u.py", 3, 4, "h", "def h"),),
        False,
    )
    shown = explanation(record)
    assert shown["expert"] == "sql" and shown["reason"] == "centroid"
    assert shown["weights"] == [{"expert": "sql", "weight": 1.0}]
    assert list(shown["scores"]) == ["sql", "css"]  # most probable first
    assert shown["context"][0]["range"] == {"startLine": 3, "endLine": 4}
    assert route_summary(record).startswith("**Last completion:** expert `sql` (centroid, conf")


def write_set(folder: Path, *, router: str | None = None, centroids: bool = True) -> None:
    cards = tuple(
        ExpertCard(
            name,
            f"adapters/{name}",
            "v1",
            ("python",),
            (f"{name}_pkg",),
            10,
            tuple(CENTROIDS[name]) if centroids else None,
        )
        for name in ("sql", "css")
    )
    write_expert_set(folder, ExpertSet("v1", "directory", "tiny", cards, router, 1))


def test_an_expert_set_loads_its_adapters_and_routes_by_its_centroids(tmp_path: Path) -> None:
    write_set(tmp_path)
    generator = recorder()
    loaded = load_expert_set(tmp_path, generator, temperature=0.1)
    assert generator.loaded == {
        "sql": str(tmp_path / "adapters/sql"),
        "css": str(tmp_path / "adapters/css"),
    }
    router = build_router(
        RoutingConfig(mode="learned"), RuleRouter(), keyword_embed, loaded, pinned="css"
    )
    assert isinstance(router, LearnedRouter) and router.selected() == "css"
    router.select(None)
    assert router.route(query(SQL), generator.adapters()).expert == "sql"
    # mode = "rules": the cards' domains become rules
    rules = build_router(RoutingConfig(), RuleRouter(), None, loaded)
    assert rules.route(query("", "css_pkg/x.py"), ["sql", "css"]).reason == "rule 'css_pkg/**'"


def test_an_expert_set_with_a_trained_router_uses_it(tmp_path: Path) -> None:
    items = [RouteInput("completion", "python", "p.py", t) for t in (SQL, SQL * 2, CSS, CSS * 2)]
    vectors = [f.vector for f in route_features_many(items, keyword_embed)]
    LinearGate.fit(vectors, ["sql", "sql", "css", "css"]).save(tmp_path / "router.json")
    write_set(tmp_path, router="router.json", centroids=False)
    loaded = load_expert_set(tmp_path, recorder(), temperature=0.1)
    assert isinstance(loaded.gate, LinearGate)
    router = build_router(RoutingConfig(mode="learned"), RuleRouter(), keyword_embed, loaded)
    assert router.route(query(CSS), ["sql", "css"]).reason == "gate"


def test_learned_routing_without_a_gate_is_refused(tmp_path: Path) -> None:
    write_set(tmp_path, centroids=False)
    loaded = load_expert_set(tmp_path, recorder(), temperature=0.1)
    assert loaded.gate is None
    with pytest.raises(RoutingSetupError, match=r"routing\.expert_set"):
        build_router(RoutingConfig(mode="learned"), RuleRouter(), keyword_embed, loaded)
    with pytest.raises(RoutingSetupError, match=r"routing\.expert_set"):
        build_router(RoutingConfig(mode="learned"), RuleRouter(), keyword_embed, None)
    default = RuleRouter()
    assert build_router(RoutingConfig(), default, None, None, pinned="x") is default
    assert default.selected() == "x"
