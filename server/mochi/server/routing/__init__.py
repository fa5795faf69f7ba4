from mochi.server.routing.learned_router import LearnedRouter
from mochi.server.routing.router import (
    NO_EXPERT,
    ExpertRouter,
    RouteDecision,
    RouteQuery,
    RuleRouter,
    parse_rule,
)

__all__ = [
    "NO_EXPERT",
    "ExpertRouter",
    "LearnedRouter",
    "RouteDecision",
    "RouteQuery",
    "RuleRouter",
    "parse_rule",
]
