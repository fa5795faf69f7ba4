"""The repository with a known history that the dataset builder tests read."""

from __future__ import annotations

import pytest
from dataset_repo import DatasetRepo, build_dataset_repo
from git_repo import GitRepo


@pytest.fixture
def dataset_repo(git_repo: GitRepo) -> DatasetRepo:
    return build_dataset_repo(git_repo)
