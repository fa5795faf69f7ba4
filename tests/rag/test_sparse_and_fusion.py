"""The code-aware sparse encoder and the fusion rules."""

from __future__ import annotations

from mochi.rag.embedding import Bm25SparseEncoder, code_tokens
from mochi.rag.embedding.sparse import token_id
from mochi.rag.retrieval import rrf_fusion, weighted_fusion
from mochi.rag.retrieval.hybrid import glob_matches, glob_prefix, is_code_like
from mochi.rag.types import ScoredId


def test_identifiers_split_and_kept_whole() -> None:
    assert code_tokens("getUserName") == ["getusername", "user", "name"]
    assert code_tokens("parse_HTTPResponse") == ["parse_httpresponse", "parse", "http", "response"]
    assert code_tokens("the sorting of lists") == ["sort", "list"]


def test_query_and_passage_share_token_space() -> None:
    enc = Bm25SparseEncoder()
    passage = enc.encode_passage("def get_user_name(user): return user.name")
    query = enc.encode_query("user name")
    assert set(query.indices) <= set(passage.indices)
    assert all(v == 1.0 for v in query.values)


def test_bm25_saturates_and_normalises_length() -> None:
    enc = Bm25SparseEncoder(k1=1.2, b=0.75, avg_len=10)
    short = enc.encode_passage("alpha " * 1 + "beta")
    repeated = enc.encode_passage("alpha " * 9 + "beta")
    alpha = token_id("alpha")
    w_short = dict(zip(short.indices, short.values, strict=True))[alpha]
    w_rep = dict(zip(repeated.indices, repeated.values, strict=True))[alpha]
    assert w_rep > w_short  # more occurrences weigh more...
    assert w_rep < 1.2 + 1  # ...but saturate below k1 + 1
    assert enc.encode_passage("").indices == ()


def test_weighted_fusion_keeps_strong_dense_lead() -> None:
    dense = [ScoredId("a", 0.9), ScoredId("b", 0.5), ScoredId("c", 0.4)]
    sparse = [ScoredId("c", 12.0), ScoredId("b", 11.0)]
    fused = weighted_fusion(dense, sparse, alpha=0.7)
    assert [h.id for h in fused] == ["a", "c", "b"]
    assert fused[0].score == 0.7  # dense-normalised 1.0, absent from sparse
    assert weighted_fusion(dense, sparse, alpha=0.0)[0] == ScoredId("c", 1.0)


def test_rrf_fusion_rank_arithmetic() -> None:
    fused = rrf_fusion([ScoredId("a", 1), ScoredId("b", 1)], [ScoredId("b", 1)], k=60)
    assert [h.id for h in fused] == ["b", "a"]
    assert abs(fused[0].score - (1 / 62 + 1 / 61)) < 1e-12


def test_globs() -> None:
    assert glob_prefix("rag/mochi/**/*.py") == "rag/mochi"
    assert glob_prefix("*.py") == ""
    assert glob_matches("rag/mochi/rag/x.py", "rag/**/*.py")
    assert glob_matches("rag/x.py", "rag/**/*.py")
    assert not glob_matches("server/x.py", "rag/**/*.py")


def test_code_like_queries() -> None:
    for query in ("formatCurrency", "fetch_json", "index.search(", "a -> b", "Indexer"):
        assert is_code_like(query), query
    for query in ("download json from a url", "how do I build the docker image"):
        assert not is_code_like(query), query
