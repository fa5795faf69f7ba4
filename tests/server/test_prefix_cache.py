"""PrefixCache bookkeeping, with a stand-in for transformers' DynamicCache."""

from __future__ import annotations

from mochi.rag.prompting.fim import detect_fim_template
from mochi.server.generation.prefix_cache import PrefixCache


class FakeCache:
    def __init__(self, length: int) -> None:
        self.length = length

    def get_seq_length(self) -> int:
        return self.length

    def crop(self, tokens_to_remove: int) -> None:
        assert tokens_to_remove < 0, "only the negative form works in every transformers"
        self.length += tokens_to_remove


def test_an_extension_takes_the_entry_out_and_crops_nothing() -> None:
    pc = PrefixCache()
    cache = FakeCache(5)
    pc.checkin(None, [1, 2, 3, 4, 5], cache)
    out = pc.checkout(None, [1, 2, 3, 4, 5, 6, 7])
    assert out.cache is cache and out.reused == 5 and out.token_ids == [1, 2, 3, 4, 5]
    assert len(pc) == 0  # handed out, not shared


def test_at_least_the_last_prompt_token_is_left_to_prefill() -> None:
    pc = PrefixCache()
    pc.checkin(None, [1, 2, 3, 4], FakeCache(4))
    out = pc.checkout(None, [1, 2, 3, 4])
    assert out.reused == 3 and out.cache is not None and out.cache.get_seq_length() == 3


def test_a_short_shared_prefix_copies_and_keeps_the_entry() -> None:
    pc = PrefixCache()
    original = FakeCache(10)
    pc.checkin(None, list(range(10)), original)
    out = pc.checkout(None, [0, 1, 99])
    assert out.reused == 2 and out.cache is not original and out.cache is not None
    assert out.cache.get_seq_length() == 2 and original.length == 10
    assert len(pc) == 1


def test_entries_are_per_adapter_and_invalidated_by_name() -> None:
    pc = PrefixCache()
    pc.checkin("a", [1, 2, 3], FakeCache(3))
    assert pc.checkout("b", [1, 2, 3, 4]).cache is None
    assert pc.checkout(None, [1, 2, 3, 4]).cache is None
    pc.invalidate("a")
    assert pc.checkout("a", [1, 2, 3, 4]).cache is None


def test_lru_bounds_entries_and_tokens() -> None:
    pc = PrefixCache(max_entries=2, max_tokens=100)
    for first in (10, 20, 30):
        pc.checkin(None, [first, 1, 2], FakeCache(3))
    assert len(pc) == 2
    assert pc.checkout(None, [10, 1, 2, 3]).cache is None  # the oldest was evicted
    pc.checkin(None, list(range(1000, 1090)), FakeCache(90))
    pc.checkin(None, list(range(2000, 2090)), FakeCache(90))
    assert len(pc) == 1


def test_a_longer_prompt_replaces_its_own_prefix() -> None:
    pc = PrefixCache()
    pc.checkin(None, [1, 2], FakeCache(2))
    pc.checkin(None, [1, 2, 3, 4], FakeCache(4))
    assert len(pc) == 1


def test_fim_templates_from_vocabulary() -> None:
    assert detect_fim_template({"<|fim_prefix|>", "a"}) == "qwen"
    assert detect_fim_template({"<fim_prefix>"}) == "starcoder"
    assert detect_fim_template({"▁<PRE>"}) == "codellama"
    assert detect_fim_template({"def"}) is None
