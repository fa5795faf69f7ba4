from mochi.server.routing.router import ExpertRouter, RuleRouter

__all__ = ["ExpertRouter", "RuleRouter"]
