"""Stops the vLLM back end applies itself: vLLM cannot let a completion open with a
newline before its newline stop, so that stop is checked while the stream is read."""

from __future__ import annotations

from mochi.server.generation.types import GenerationRequest
from mochi.server.generation.vllm_backend import client_side_stops
from mochi.server.generation.vllm_stream import CompletionStream


def test_the_newline_stop_moves_client_side_only_when_leading_newlines_are_skipped() -> None:
    plain = GenerationRequest("p", stop=("<|endoftext|>", "\n"))
    skipping = GenerationRequest("p", stop=("<|endoftext|>", "\n"), skip_leading_newlines=True)
    assert client_side_stops(plain) == ()
    assert client_side_stops(skipping) == ("\n",)
    assert client_side_stops(GenerationRequest("p", skip_leading_newlines=True)) == ()


def test_the_stream_is_cut_after_the_first_line_with_text() -> None:
    stream = CompletionStream(started_at=0.0)
    stream.parts = ["\n", "\n    return"]
    assert not stream.cut_at(("\n",), skip_leading_newlines=True)
    stream.parts.append(" x\n    y")
    assert stream.cut_at(("\n",), skip_leading_newlines=True)
    assert stream.result(adapter=None, now=1.0).text == "\n\n    return x"
