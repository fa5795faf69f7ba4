"""Gates: from a request's features to a probability per expert.

`LinearGate` is a multinomial logistic regression (softmax over a linear map of the
standardised feature vector), trained by full-batch gradient descent with an L2
penalty; the same data, settings and seed give the same gate. `CentroidGate` needs no
training: a softmax over the cosine similarity of the embedding to each expert's
centroid, used until a gate is trained. `top_k` turns probabilities into a choice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from mochi.rag.atomic_file import write_atomically
from mochi.rag.routing.features import FEATURE_VERSION, RouteFeatures

Matrix = npt.NDArray[np.float64]
GATE_FORMAT = "mochi-linear-gate"


class GateError(ValueError):
    """Training data or a gate file the gate cannot use; the message says why."""


class Gate(Protocol):
    @property
    def experts(self) -> tuple[str, ...]: ...

    def score(self, features: RouteFeatures) -> dict[str, float]:
        """Expert name -> probability (they sum to 1)."""
        ...


def _softmax(logits: Matrix) -> Matrix:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    out: Matrix = exp / exp.sum(axis=-1, keepdims=True)
    return out


def _as_matrix(vectors: Sequence[Sequence[float]] | npt.ArrayLike) -> Matrix:
    try:
        matrix = np.asarray(vectors, dtype=np.float64)
    except ValueError as exc:  # ragged rows
        raise GateError(f"vectors must all have the same length: {exc}") from None
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise GateError(f"need a non-empty 2-D array of vectors, got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise GateError("vectors hold NaN or infinite values")
    return matrix


@dataclass(frozen=True, eq=False)
class LinearGate:
    experts: tuple[str, ...]
    weights: Matrix  # (dim, experts), over standardised inputs
    bias: Matrix  # (experts,)
    mean: Matrix  # (dim,) of the training vectors
    scale: Matrix  # (dim,) their standard deviation (1 where constant)
    feature_version: int = FEATURE_VERSION

    @property
    def dim(self) -> int:
        return int(self.weights.shape[0])

    @classmethod
    def fit(
        cls,
        vectors: Sequence[Sequence[float]] | npt.ArrayLike,
        labels: Sequence[str],
        *,
        l2: float = 1e-3,
        learning_rate: float = 0.5,
        steps: int = 500,
        seed: int = 0,
    ) -> LinearGate:
        """Train on rows of `vectors` labelled with expert names (at least two)."""
        x = _as_matrix(vectors)
        if len(labels) != x.shape[0]:
            raise GateError(f"{x.shape[0]} vectors but {len(labels)} labels")
        experts = tuple(sorted(set(labels)))
        if len(experts) < 2:
            raise GateError(f"need samples of at least two experts, got {list(experts)}")
        if l2 < 0 or learning_rate <= 0 or steps < 1:
            raise GateError("need l2 >= 0, learning_rate > 0 and steps >= 1")
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        scale = np.where(std > 1e-12, std, 1.0)
        z = (x - mean) / scale
        index = {name: i for i, name in enumerate(experts)}
        target = np.zeros((x.shape[0], len(experts)))
        target[np.arange(x.shape[0]), [index[label] for label in labels]] = 1.0
        rng = np.random.default_rng(seed)
        w = rng.normal(0.0, 0.01, size=(x.shape[1], len(experts)))
        b = np.zeros(len(experts))
        n = float(x.shape[0])
        for _ in range(steps):
            error = _softmax(z @ w + b) - target  # d(cross-entropy)/d(logits)
            w -= learning_rate * (z.T @ error / n + l2 * w)
            b -= learning_rate * error.mean(axis=0)
        return cls(experts, w, b, mean, scale)

    def probabilities(self, vector: Sequence[float] | npt.ArrayLike) -> dict[str, float]:
        v = np.asarray(vector, dtype=np.float64)
        if v.shape != (self.dim,):
            raise GateError(f"the gate reads vectors of length {self.dim}, got {v.shape}")
        p = _softmax(((v - self.mean) / self.scale) @ self.weights + self.bias)
        return {name: float(p[i]) for i, name in enumerate(self.experts)}

    def predict(self, vectors: Sequence[Sequence[float]] | npt.ArrayLike) -> list[str]:
        """The most probable expert of each row."""
        x = _as_matrix(vectors)
        if x.shape[1] != self.dim:
            raise GateError(f"the gate reads vectors of length {self.dim}, got {x.shape[1]}")
        best = np.argmax(((x - self.mean) / self.scale) @ self.weights + self.bias, axis=1)
        return [self.experts[int(i)] for i in best]

    def score(self, features: RouteFeatures) -> dict[str, float]:
        return self.probabilities(features.vector)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": GATE_FORMAT,
            "feature_version": self.feature_version,
            "experts": list(self.experts),
            "weights": self.weights.tolist(),
            "bias": self.bias.tolist(),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LinearGate:
        if data.get("format") != GATE_FORMAT:
            raise GateError(f"not a {GATE_FORMAT} document")
        version = data.get("feature_version")
        if version != FEATURE_VERSION:
            raise GateError(
                f"the gate was trained on route features v{version}; this mochi reads "
                f"v{FEATURE_VERSION}: train the router again"
            )
        try:
            experts = tuple(str(e) for e in data["experts"])
            weights = np.asarray(data["weights"], dtype=np.float64)
            bias = np.asarray(data["bias"], dtype=np.float64)
            mean = np.asarray(data["mean"], dtype=np.float64)
            scale = np.asarray(data["scale"], dtype=np.float64)
        except (KeyError, TypeError, ValueError) as exc:
            raise GateError(f"a broken gate document: {exc}") from None
        dim = mean.shape[0] if mean.ndim == 1 else -1
        if weights.shape != (dim, len(experts)) or bias.shape != (len(experts),):
            raise GateError("a broken gate document: its arrays disagree in shape")
        if scale.shape != (dim,) or len(experts) < 2:
            raise GateError("a broken gate document: its arrays disagree in shape")
        return cls(experts, weights, bias, mean, scale, int(version))

    def save(self, path: Path) -> Path:
        """Write the gate as JSON, atomically (a reader sees the old gate or the new)."""
        return write_atomically(path, json.dumps(self.to_json()))

    @classmethod
    def load(cls, path: Path) -> LinearGate:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise GateError(f"cannot read the gate {path}: {exc}") from None
        if not isinstance(data, dict):
            raise GateError(f"{path} is not a gate document")
        return cls.from_json(data)


@dataclass(frozen=True, eq=False)
class CentroidGate:
    """Softmax over cosine similarity / temperature to each expert's centroid."""

    experts: tuple[str, ...]
    centroids: Matrix  # (experts, dim), unit rows
    temperature: float = 0.05

    @classmethod
    def from_centroids(
        cls, centroids: Mapping[str, Sequence[float]], temperature: float = 0.05
    ) -> CentroidGate:
        if not centroids:
            raise GateError("need at least one centroid")
        if temperature <= 0:
            raise GateError("the temperature must be > 0")
        experts = tuple(centroids)
        matrix = _as_matrix([list(centroids[name]) for name in experts])
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        if np.any(norms == 0):
            raise GateError("a centroid is the zero vector")
        return cls(experts, matrix / norms, temperature)

    @property
    def dim(self) -> int:
        return int(self.centroids.shape[1])

    def probabilities(self, embedding: Sequence[float] | npt.ArrayLike) -> dict[str, float]:
        e = np.asarray(embedding, dtype=np.float64)
        if e.shape != (self.dim,):
            raise GateError(f"the centroids have length {self.dim}, got {e.shape}")
        norm = float(np.linalg.norm(e))
        cosine = self.centroids @ (e / norm) if norm > 0 else np.zeros(len(self.experts))
        p = _softmax(cosine / self.temperature)
        return {name: float(p[i]) for i, name in enumerate(self.experts)}

    def score(self, features: RouteFeatures) -> dict[str, float]:
        return self.probabilities(features.embedding)


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """The chosen experts with weights summing to 1 (empty: the base model)."""

    weights: tuple[tuple[str, float], ...]
    confidence: float  # the top expert's probability

    @property
    def expert(self) -> str | None:
        return self.weights[0][0] if self.weights else None

    @property
    def base(self) -> bool:
        return not self.weights


def top_k(probabilities: Mapping[str, float], k: int = 1, threshold: float = 0.0) -> RouteChoice:
    """The `k` most probable experts, their weights renormalised among them; the base
    model (no experts) when the top probability is below `threshold`. Ties go to the
    name that sorts first, so the choice is deterministic."""
    if k < 1:
        raise GateError("k must be >= 1")
    ranked = sorted(probabilities.items(), key=lambda item: (-item[1], item[0]))
    if not ranked:
        return RouteChoice((), 0.0)
    confidence = float(ranked[0][1])
    if confidence < threshold:
        return RouteChoice((), confidence)
    chosen = ranked[:k]
    total = sum(p for _, p in chosen)
    if total <= 0:
        return RouteChoice((), confidence)
    return RouteChoice(tuple((name, float(p) / total) for name, p in chosen), confidence)
