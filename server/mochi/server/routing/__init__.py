from mochi.server.routing.router import NO_EXPERT, ExpertRouter, RuleRouter

__all__ = ["NO_EXPERT", "ExpertRouter", "RuleRouter"]
