"""Routing a request to LoRA experts: the features a router reads (shared by the
trainer and the server) and the gates that turn them into a choice."""

from mochi.rag.routing.features import (
    FEATURE_VERSION,
    RouteFeatures,
    RouteInput,
    feature_dim,
    route_features,
    route_features_many,
)
from mochi.rag.routing.gate import (
    CentroidGate,
    Gate,
    GateError,
    LinearGate,
    RouteChoice,
    top_k,
)

__all__ = [
    "FEATURE_VERSION",
    "CentroidGate",
    "Gate",
    "GateError",
    "LinearGate",
    "RouteChoice",
    "RouteFeatures",
    "RouteInput",
    "feature_dim",
    "route_features",
    "route_features_many",
    "top_k",
]
