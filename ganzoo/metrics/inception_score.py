"""Inception Score (Salimans et al. 2016): ``exp(E_x KL(p(y|x) || p(y)))`` per split, mean and std over splits.

As torch-fidelity: softmax of the logits in float64; the samples cut into ``splits`` contiguous chunks
``[i N / splits, (i + 1) N / splits)``; ``p(y)`` is the mean prediction within a chunk; the standard deviation is the
population one (``ddof=0``). torch-fidelity first shuffles the samples with
``numpy.random.RandomState(2020).permutation``; pass ``shuffle_seed=2020`` to split exactly as it does.
"""

from __future__ import annotations

import numpy as np
import torch

from ganzoo.errors import MetricError
from ganzoo.metrics.stats import ArrayLike, as_float64


def inception_score(logits: ArrayLike, splits: int = 10, shuffle_seed: int | None = None) -> tuple[float, float]:
    """IS ``(mean, std)`` of class ``logits`` ``(N, K)``; the score lies in ``[1, K]``."""
    z = as_float64(logits, "logits").cpu()
    n = z.shape[0]
    if splits < 1 or n < splits:
        raise MetricError(f"Inception Score needs at least one sample per split ({n} samples, {splits} splits)")
    if not torch.isfinite(z).all():
        raise MetricError("logits contain NaN or infinity")
    if shuffle_seed is not None:
        z = z[torch.from_numpy(np.random.RandomState(shuffle_seed).permutation(n))]
    log_p = torch.log_softmax(z, dim=1)
    p = log_p.exp()
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        chunk_p, chunk_log_p = p[lo:hi], log_p[lo:hi]
        log_marginal = chunk_p.mean(0).log()
        # 0 * log 0 = 0: where p(y|x) underflows to 0 its term vanishes instead of becoming NaN
        kl = torch.where(chunk_p > 0, chunk_p * (chunk_log_p - log_marginal), torch.zeros_like(chunk_p))
        scores.append(float(kl.sum(1).mean().exp()))
    return float(np.mean(scores)), float(np.std(scores))
