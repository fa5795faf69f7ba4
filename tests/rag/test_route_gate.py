"""The router's gates as specifications: a linear gate learns separable domains and
generalises to held-out samples, cannot learn labels that carry no signal, survives a
save/load round trip unchanged, and refuses data it cannot use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mochi.rag.routing import (
    CentroidGate,
    GateError,
    LinearGate,
    RouteFeatures,
    feature_dim,
    route_features,
    route_features_many,
    top_k,
)
from mochi.rag.routing.features import RouteInput

DOMAINS = ("backend", "docs", "frontend", "infra", "ml")


def domains(
    samples_per_domain: int, dim: int = 48, noise: float = 1.4, seed: int = 7
) -> tuple[np.ndarray, list[str]]:
    """Gaussian clouds around one random centre per domain; with the default noise the
    spread per coordinate is larger than the centres' distance per coordinate (the
    domains overlap in every single coordinate and part only in the whole space)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0.0, 1.0, size=(len(DOMAINS), dim)) * 0.3
    rows, labels = [], []
    for i, name in enumerate(DOMAINS):
        rows.append(centres[i] + rng.normal(0.0, noise * 0.3, size=(samples_per_domain, dim)))
        labels += [name] * samples_per_domain
    x = np.concatenate(rows)
    order = rng.permutation(len(labels))
    return x[order], [labels[i] for i in order]


def accuracy(gate: LinearGate, x: np.ndarray, labels: list[str]) -> float:
    return float(np.mean([p == t for p, t in zip(gate.predict(x), labels, strict=True)]))


def test_a_gate_trained_on_separable_domains_routes_held_out_samples() -> None:
    x, labels = domains(120)
    train, test = slice(0, 400), slice(400, None)
    gate = LinearGate.fit(x[train], labels[train], seed=3)
    assert accuracy(gate, x[test], labels[test]) >= 0.95
    assert set(gate.experts) == set(DOMAINS)
    probabilities = gate.probabilities(x[450])
    assert sum(probabilities.values()) == pytest.approx(1.0)


def test_an_untrained_gate_is_no_better_than_chance() -> None:
    """The measure can fail: one gradient step from a near-zero start is not enough."""
    x, labels = domains(120, noise=3.0)
    gate = LinearGate.fit(x[:400], labels[:400], steps=1, learning_rate=1e-4, seed=3)
    assert accuracy(gate, x[400:], labels[400:]) < 0.6


def test_labels_without_signal_stay_near_chance() -> None:
    x, _ = domains(120)
    rng = np.random.default_rng(11)
    shuffled = [DOMAINS[i] for i in rng.integers(0, len(DOMAINS), size=len(x))]
    gate = LinearGate.fit(x[:400], shuffled[:400], seed=3)
    chance = 1 / len(DOMAINS)
    assert accuracy(gate, x[400:], shuffled[400:]) < chance + 0.15


def test_training_is_deterministic_given_the_seed() -> None:
    x, labels = domains(30)
    a = LinearGate.fit(x, labels, seed=5, steps=50)
    b = LinearGate.fit(x, labels, seed=5, steps=50)
    c = LinearGate.fit(x, labels, seed=6, steps=50)
    assert np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.weights, c.weights)


def test_save_and_load_give_the_same_gate(tmp_path: Path) -> None:
    x, labels = domains(30)
    gate = LinearGate.fit(x, labels, seed=1, steps=100)
    path = gate.save(tmp_path / "router" / "gate.json")
    loaded = LinearGate.load(path)
    assert loaded.experts == gate.experts
    for name in ("weights", "bias", "mean", "scale"):
        assert np.array_equal(getattr(loaded, name), getattr(gate, name))
    assert loaded.probabilities(x[0]) == gate.probabilities(x[0])
    assert [p.name for p in path.parent.iterdir()] == ["gate.json"]  # no temporary left


@pytest.mark.parametrize(
    ("vectors", "labels", "message"),
    [
        ([], [], "non-empty"),
        ([[1.0, 0.0], [0.0, 1.0]], ["a", "a"], "at least two experts"),
        ([[1.0, 0.0], [0.0, 1.0]], ["a"], "2 vectors but 1 labels"),
        ([[1.0, 0.0], [0.0]], ["a", "b"], "same length"),
        ([[1.0, float("nan")], [0.0, 1.0]], ["a", "b"], "NaN"),
    ],
)
def test_training_data_it_cannot_use_is_refused(
    vectors: list[list[float]], labels: list[str], message: str
) -> None:
    with pytest.raises(GateError, match=message):
        LinearGate.fit(vectors, labels)


def test_a_vector_of_the_wrong_length_is_refused() -> None:
    gate = LinearGate.fit([[1.0, 0.0], [0.0, 1.0]], ["a", "b"], steps=5)
    with pytest.raises(GateError, match="length 2"):
        gate.probabilities([1.0, 0.0, 0.0])
    with pytest.raises(GateError, match="length 2"):
        gate.predict([[1.0, 0.0, 0.0]])


def test_a_gate_of_another_feature_version_is_refused(tmp_path: Path) -> None:
    gate = LinearGate.fit([[1.0, 0.0], [0.0, 1.0]], ["a", "b"], steps=5)
    data = gate.to_json() | {"feature_version": 0}
    with pytest.raises(GateError, match="train the router again"):
        LinearGate.from_json(data)
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(GateError, match="not a gate"):
        LinearGate.load(tmp_path / "bad.json")


def test_the_centroid_gate_prefers_the_nearest_centroid() -> None:
    gate = CentroidGate.from_centroids({"a": [1.0, 0.0], "b": [0.0, 2.0]}, temperature=0.1)
    p = gate.probabilities([0.9, 0.1])
    assert p["a"] > 0.99 and sum(p.values()) == pytest.approx(1.0)
    warmer = CentroidGate.from_centroids({"a": [1.0, 0.0], "b": [0.0, 2.0]}, temperature=10)
    assert 0.5 < warmer.probabilities([0.9, 0.1])["a"] < 0.6
    with pytest.raises(GateError, match="length 2"):
        gate.probabilities([1.0, 0.0, 0.0])
    with pytest.raises(GateError, match="zero vector"):
        CentroidGate.from_centroids({"a": [0.0, 0.0]})


def test_top_k_renormalises_and_falls_back_to_the_base() -> None:
    p = {"a": 0.5, "b": 0.3, "c": 0.2}
    one = top_k(p, 1, threshold=0.4)
    assert one.expert == "a" and one.weights == (("a", 1.0),) and one.confidence == 0.5
    two = top_k(p, 2, threshold=0.4)
    assert [n for n, _ in two.weights] == ["a", "b"]
    assert [w for _, w in two.weights] == pytest.approx([0.625, 0.375])
    base = top_k(p, 1, threshold=0.6)
    assert base.base and base.expert is None and base.confidence == 0.5
    assert top_k({}, 1).base
    assert top_k({"b": 0.5, "a": 0.5}, 1).expert == "a"  # ties: deterministic
    with pytest.raises(GateError):
        top_k(p, 0)


def fake_embed(texts: object) -> np.ndarray:
    """Two coordinates: how much of the text is 'sql' and how much is 'css'."""
    return np.array([[t.count("sql") + 0.0, t.count("css") + 0.0] for t in texts])  # type: ignore[attr-defined]


def test_route_features_hold_a_unit_embedding_and_the_request_categories() -> None:
    f = route_features("completion", "python", "db/models/user.py", "x = sql sql", fake_embed)
    assert np.linalg.norm(f.embedding) == pytest.approx(1.0)
    assert f.vector.shape == (feature_dim(2),)
    assert np.array_equal(f.vector[:2], f.embedding)
    other = route_features("completion", "python", "web/views/user.py", "x = sql sql", fake_embed)
    assert not np.array_equal(f.vector, other.vector)  # the folders count
    assert (
        route_features("completion", "python", "db/models/user.py", "x = sql sql", fake_embed) == f
    )
    # only the tail before the cursor is embedded
    tail = route_features("inline", "css", "a.css", "sql " * 10 + "css", fake_embed, 3)
    assert tail.embedding.tolist() == [0.0, 1.0]
    batch = route_features_many(
        [RouteInput("completion", "python", "db/models/user.py", "x = sql sql")], fake_embed
    )
    assert batch == [f]
    assert isinstance(batch[0], RouteFeatures)
