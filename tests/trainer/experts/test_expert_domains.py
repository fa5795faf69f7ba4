"""Cutting samples into expert domains: by language, by top folder, by k-means of file
embeddings; small domains merged, never given an expert of their own."""

from __future__ import annotations

import numpy as np
import pytest

from mochi.trainer.experts.domains import Domain, DomainError, Partition, domain_name, partition
from mochi.trainer.experts.kmeans import kmeans
from mochi.trainer.samples import Sample


def samples(path: str, count: int) -> list[Sample]:
    return [Sample(f"# {path}\n", f"line {i}\n", "file", path) for i in range(count)]


def by_name(found: Partition) -> dict[str, Domain]:
    return {d.name: d for d in found.domains}


def test_the_language_rule_cuts_by_the_files_language() -> None:
    data = samples("pkg/a.py", 5) + samples("web/app.js", 4) + samples("pkg/b.pyi", 2)
    found = partition(data, "language")
    domains = by_name(found)
    assert list(domains) == ["python", "javascript"]  # largest first
    python = domains["python"]
    assert len(python.samples) == 7 and python.files == ("pkg/a.py", "pkg/b.pyi")
    assert python.paths == ("*.py", "*.pyi") and python.languages == ("python",)
    assert python.centroid is None  # no embeddings given


def test_the_directory_rule_cuts_by_the_top_folder() -> None:
    data = samples("pkg_a/x/deep.py", 3) + samples("pkg_a/top.py", 2) + samples("setup.py", 2)
    data += samples("docs/conf.py", 4)
    domains = by_name(partition(data, "directory"))
    assert set(domains) == {"pkg_a", "docs", "root"}
    assert domains["pkg_a"].paths == ("pkg_a/*",)
    assert domains["root"].paths == ("setup.py",)


def test_samples_without_a_file_belong_to_no_domain() -> None:
    data = [*samples("a.py", 3), Sample("commit msg", "diff", "commit-to-diff")]
    found = partition(data, "language")
    assert found.unassigned == 1 and sum(len(d.samples) for d in found.domains) == 3


def test_small_domains_pool_into_other_without_embeddings() -> None:
    data = samples("big/a.py", 10) + samples("s1/b.py", 3) + samples("s2/c.py", 3)
    domains = by_name(partition(data, "directory", min_samples=5))
    assert set(domains) == {"big", "other"}
    assert domains["other"].paths == ("s1/*", "s2/*") and len(domains["other"].samples) == 6


def test_a_pool_still_too_small_joins_the_largest_domain() -> None:
    data = samples("big/a.py", 10) + samples("mid/b.py", 6) + samples("tiny/c.py", 2)
    domains = by_name(partition(data, "directory", min_samples=5))
    assert set(domains) == {"big", "mid"}
    assert len(domains["big"].samples) == 12 and "tiny/*" in domains["big"].paths


def test_when_nothing_is_large_enough_there_is_one_domain() -> None:
    data = samples("a/x.py", 2) + samples("b/y.js", 2)
    found = partition(data, "language", min_samples=10)
    assert [d.name for d in found.domains] == ["other"]
    assert found.domains[0].languages == ("javascript", "python")


def test_small_domains_join_the_nearest_centroid_with_embeddings() -> None:
    data = samples("left/a.py", 6) + samples("right/b.py", 6) + samples("near_right/c.py", 2)
    embeddings = {"left/a.py": [1.0, 0.0], "right/b.py": [0.0, 1.0], "near_right/c.py": [0.1, 0.9]}
    domains = by_name(partition(data, "directory", min_samples=5, embeddings=embeddings))
    assert set(domains) == {"left", "right"}
    assert len(domains["right"].samples) == 8
    centroid = np.array(domains["right"].centroid)
    assert abs(np.linalg.norm(centroid) - 1.0) < 1e-9 and centroid[1] > centroid[0] > 0


def test_kmeans_groups_files_by_their_embeddings() -> None:
    rng = np.random.default_rng(1)
    embeddings: dict[str, list[float]] = {}
    data: list[Sample] = []
    for group, centre in (("a", [1.0, 0.0, 0.0]), ("b", [0.0, 0.0, 1.0])):
        for i in range(4):
            path = f"mixed/{group}{i}.py"
            embeddings[path] = (np.array(centre) + rng.normal(0, 0.05, 3)).tolist()
            data += samples(path, 3)
    found = partition(data, "kmeans", embeddings=embeddings, clusters=2, seed=7)
    groups = [sorted({f.split("/")[1][0] for f in d.files}) for d in found.domains]
    assert sorted(groups) == [["a"], ["b"]]
    assert [d.name for d in found.domains] == ["cluster-0", "cluster-1"]
    again = partition(data, "kmeans", embeddings=embeddings, clusters=2, seed=7)
    assert again == found  # deterministic for a seed


def test_kmeans_leaves_out_files_without_an_embedding() -> None:
    data = samples("a.py", 2) + samples("b.py", 3)
    found = partition(data, "kmeans", embeddings={"a.py": [1.0, 0.0]}, clusters=3)
    assert found.unassigned == 3 and [len(d.samples) for d in found.domains] == [2]


def test_bad_options_are_named() -> None:
    with pytest.raises(DomainError, match="rule must be one of"):
        partition([], "random")
    with pytest.raises(DomainError, match="min_samples"):
        partition([], "language", min_samples=0)
    with pytest.raises(DomainError, match="needs embeddings"):
        partition([], "kmeans")
    with pytest.raises(DomainError, match="different lengths"):
        partition(
            samples("a.py", 1) + samples("b.py", 1),
            "kmeans",
            embeddings={"a.py": [1.0], "b.py": [1.0, 2.0]},
        )


def test_kmeans_itself() -> None:
    points = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0], [5.0, 5.1]])
    labels = kmeans(points, 2, seed=3)
    assert labels.tolist() == [0, 0, 1, 1, 1]
    assert kmeans(points, 10, seed=0).max() == 4  # k is capped by distinct points
    with pytest.raises(ValueError, match="k >= 1"):
        kmeans(points, 0, seed=0)


def test_domain_names_fit_an_adapter_name() -> None:
    assert domain_name("my pkg") == "my-pkg"
    assert domain_name("_private") == "d-_private"
    assert domain_name("...") == "d"
