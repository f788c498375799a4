"""Which rows make up each real batch: a pure function of (seed, batch index), so resume needs no sampler state."""

from __future__ import annotations

import torch


class BatchStream:
    """Epoch-wise shuffling without replacement; batch ``k`` is always the same rows for the same seed.

    Each epoch is a fresh permutation seeded by ``(seed, epoch)``; the last incomplete batch of an epoch is dropped.
    Under data parallelism every rank draws the same global batch and keeps its own contiguous slice.
    """

    def __init__(self, num_samples: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1) -> None:
        self.num_samples, self.batch_size = num_samples, batch_size
        self.seed, self.rank, self.world_size = seed, rank, world_size
        self.global_batch = batch_size * world_size
        if num_samples < self.global_batch:
            raise ValueError(f"{num_samples} samples cannot fill a global batch of {self.global_batch}")
        self.batches_per_epoch = num_samples // self.global_batch
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            g = torch.Generator().manual_seed((self.seed * 1_000_003 + epoch) % 2**63)
            self._perm, self._epoch = torch.randperm(self.num_samples, generator=g), epoch
        return self._perm

    def indices(self, k: int) -> torch.Tensor:
        """Row indices of this rank's part of global batch ``k``."""
        epoch, within = divmod(k, self.batches_per_epoch)
        start = within * self.global_batch + self.rank * self.batch_size
        return self._permutation(epoch)[start:start + self.batch_size]
