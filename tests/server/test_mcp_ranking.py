"""`rank_candidates` as plain logic: the context a cursor gives, the ranking a scorer's
numbers give, and `mochi mcp`'s own model (loaded on first use, with the daemon's
published adapters, picked by the router; the vLLM back end says it cannot score)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mochi.server.config import MochiConfig, ModelConfig
from mochi.server.generation.scoring import ScoreRequest, TokenScores
from mochi.server.generation.types import CancelToken
from mochi.server.mcp.backend import ToolUnavailable
from mochi.server.mcp.local_model import LazyModel
from mochi.server.mcp.ranking import format_ranking, rank, rank_context
from mochi.server.mcp.workspace_files import ToolInputError
from mochi.server.routing import RuleRouter
from mochi.trainer.protocol import AdapterView

SOURCE = "def area(r):\n    return 3.14 * r * r\n\n\ndef perimeter(r):\n"


class LengthScorer:
    """Log-prob -0.1 per character of a token; one token per word."""

    def __init__(self) -> None:
        self.requests: list[ScoreRequest] = []

    def score(self, request: ScoreRequest, cancel: CancelToken) -> TokenScores:
        self.requests.append(request)
        words = request.text.split()
        offsets, at = [], 0
        for word in words:
            at = request.text.index(word, at)
            offsets.append(at)
            at += len(word)
        return TokenScores(tuple(offsets), tuple(-0.1 * len(w) for w in words), request.adapter)


def test_the_context_is_the_file_up_to_the_cursor(tmp_path: Path) -> None:
    (tmp_path / "geo.py").write_text(SOURCE)
    at_end = rank_context(tmp_path, "geo.py", 5, 0, "")
    assert at_end.text == SOURCE.rstrip("\n")
    assert (at_end.path, at_end.language, at_end.where) == ("geo.py", "python", "geo.py:5:18")
    inside = rank_context(tmp_path, "geo.py", 2, 5, "")
    assert inside.text == "def area(r):\n    "
    assert rank_context(tmp_path, "", 0, 0, "x = ").text == "x = "
    with pytest.raises(ToolInputError, match="either path"):
        rank_context(tmp_path, "geo.py", 1, 0, "x = ")
    with pytest.raises(ToolInputError, match="has 6 lines"):
        rank_context(tmp_path, "geo.py", 9, 0, "")
    with pytest.raises(ToolInputError, match="outside the workspace"):
        rank_context(tmp_path, "../geo.py", 1, 0, "")


def test_candidates_are_ranked_by_mean_log_prob_best_first() -> None:
    scorer = LengthScorer()
    context = rank_context(Path("."), "", 0, 0, "x = ")
    ranking = rank(scorer, context, ["aaaa bb", "a", "cc cc"], "python", CancelToken())
    assert [s.index for s in ranking.scores] == [1, 2, 0]  # means -0.1, -0.2, -0.3
    best = ranking.scores[0]
    assert (best.mean_logprob, best.total_logprob, best.tokens) == pytest.approx((-0.1, -0.1, 1))
    assert [r.context for r in scorer.requests] == ["x = "] * 3
    assert {r.adapter for r in scorer.requests} == {"python"}
    text = format_ranking(ranking)
    assert text.splitlines()[0].endswith("scored by adapter 'python' (mean log-prob per token):")
    assert text.splitlines()[1].startswith("1. candidate 1: mean -0.100")
    with pytest.raises(ToolInputError, match="candidates is empty"):
        rank(scorer, context, [], None, CancelToken())
    with pytest.raises(ToolInputError, match="candidate 1 is empty"):
        rank(scorer, context, ["a", "  "], None, CancelToken())


class FakeGenerator(LengthScorer):
    def __init__(self) -> None:
        super().__init__()
        self.loaded: dict[str, str] = {}
        self.closed = False

    def load_adapter(self, name: str, path: str) -> None:
        self.loaded[name] = path

    def adapters(self) -> list[str]:
        return list(self.loaded)

    def close(self) -> None:
        self.closed = True


class Daemon:
    def adapters(self) -> list[AdapterView]:
        return [
            AdapterView("python", "v2", "/reg/python/v2", "tiny", current=True),
            AdapterView("python", "v1", "/reg/python/v1", "tiny"),
        ]


def test_the_model_loads_on_first_use_with_the_published_adapters(tmp_path: Path) -> None:
    made: list[FakeGenerator] = []

    def make(config: MochiConfig, root: Path) -> Any:
        made.append(FakeGenerator())
        return made[-1]

    model = LazyModel(
        MochiConfig(),
        tmp_path,
        make_generator=make,
        make_trainer=lambda c: Daemon(),  # type: ignore[arg-type, return-value]
    )
    assert model.describe()["loaded"] is False and not made
    assert model.adapter_for("a.py", "python") == "python"  # the router's language rule
    assert model.adapter_for("a.rs", "rust") is None
    assert model.scorer() is made[0] and len(made) == 1
    assert made[0].loaded == {"python": "/reg/python/v2"}
    pinned = LazyModel(
        MochiConfig(),
        tmp_path,
        make_generator=make,
        router=RuleRouter(pinned="none"),
        make_trainer=lambda c: Daemon(),  # type: ignore[arg-type, return-value]
    )
    assert pinned.adapter_for("a.py", "python") is None
    model.close()
    assert made[0].closed


def test_a_model_that_fails_to_load_is_a_clear_error(tmp_path: Path) -> None:
    def broken(config: MochiConfig, root: Path) -> Any:
        raise OSError("no such model folder /nope")

    model = LazyModel(MochiConfig(), tmp_path, make_generator=broken)
    with pytest.raises(ToolUnavailable, match="no model: no such model folder /nope"):
        model.scorer()
    assert model.describe()["error"] == "no such model folder /nope"


def test_the_vllm_back_end_cannot_score(tmp_path: Path) -> None:
    config = MochiConfig(model=ModelConfig(backend="vllm", vllm_url="http://127.0.0.1:9"))

    def unused(config: MochiConfig, root: Path) -> Any:
        raise AssertionError("nothing is loaded to learn that")

    with pytest.raises(ToolUnavailable, match="the vllm back end cannot score text"):
        LazyModel(config, tmp_path, make_generator=unused).scorer()
