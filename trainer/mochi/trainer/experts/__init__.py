"""Mixture of LoRA experts: the repository's samples cut into domains, one expert per
domain on the shared base model, published with their gate as a versioned expert set."""

from mochi.trainer.experts.domains import Domain, DomainError, Partition, partition
from mochi.trainer.experts.publish import ExpertSetRegistry, PublishedSet, SetRecord
from mochi.trainer.experts.touched import ExpertAssigner, changed_files, touched_experts

__all__ = [
    "Domain",
    "DomainError",
    "ExpertAssigner",
    "ExpertSetRegistry",
    "Partition",
    "PublishedSet",
    "SetRecord",
    "changed_files",
    "partition",
    "touched_experts",
]
