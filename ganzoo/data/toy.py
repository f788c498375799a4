"""2-D Gaussian mixtures for mode-collapse experiments, and how many of their modes a generator reproduces.

Two mixtures of equally weighted isotropic Gaussians:

- ``ring8``: 8 modes evenly spaced on a circle of radius 2, std 0.02 -- the setting of Metz et al. 2016,
  "Unrolled Generative Adversarial Networks" (https://arxiv.org/abs/1611.02163), also used by VEEGAN.
- ``grid25``: 25 modes on the grid ``{-4, -2, 0, 2, 4}^2``, std 0.05 -- the 2D-grid of VEEGAN (Srivastava et al.
  2017, https://arxiv.org/abs/1705.07761) as configured in PacGAN's released code (Lin et al. 2018,
  https://arxiv.org/abs/1712.04086, ``synthetic_data_experiments/2DGrid_GAN&PacGAN/config.py``).

Scores (:func:`mode_scores`) follow PacGAN's released evaluation code (``pacgan/extensions.py``, ``MetricLogger``,
run there on 2,500 generated samples):

- a sample is *high quality* when it lies within 3 standard deviations (Euclidean distance ``< 3 * std``) of its
  nearest mode; in 2-D that holds for ``1 - exp(-4.5)`` = 98.9% of the real data, not the 1-D 99.7%;
- a mode is *covered* when at least ``min_count`` high-quality samples are assigned to it (default 1, the
  reference code's rule). ``modes_covered_strict`` instead asks for a tenth of a uniform share
  (``0.1 / num_modes`` of the samples, as ``ganzoo.metrics.coverage`` does for classes), so that a few stray
  samples do not make a mode;
- ``kl_uniform`` is ``KL(q || uniform) = log K - H(q)``, where ``q`` is the histogram of every sample's nearest
  mode: 0 for a perfectly balanced generator, ``log K`` when everything lands on one mode. Quality is measured
  separately, so samples far from every mode still count for their nearest one here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ganzoo.data.base import ArrayData, DataRequest
from ganzoo.errors import DataError, MetricError

TRAIN_SIZE = 100_000
TEST_SIZE = 10_000
_SPLIT_OFFSET = {"train": 0, "test": 1}


def ring_means(num_modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """``(num_modes, 2)`` float64 centres evenly spaced on a circle, the first at ``(radius, 0)``."""
    angles = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1)


def grid_means(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    """``(side**2, 2)`` float64 centres of a square grid centred on the origin (``{-4,-2,0,2,4}^2`` by default)."""
    axis = (torch.arange(side, dtype=torch.float64) - (side - 1) / 2) * spacing
    xs, ys = torch.meshgrid(axis, axis, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=1)


def sample_mixture(means: torch.Tensor, std: float, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points (float32 ``(n, D)``) from the equal-weight mixture, and the mode each came from (int64)."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(len(means), (n,), generator=gen)
    noise = torch.randn(n, means.shape[1], generator=gen, dtype=torch.float64)
    return (means[labels] + std * noise).float(), labels


def mode_scores(samples: torch.Tensor, means: torch.Tensor, std: float, *, sigmas: float = 3.0,
                min_count: int = 1, strict_share: float = 0.1) -> dict[str, float]:
    """Mode coverage and sample quality of ``samples`` ``(N, D)`` against a mixture's ``means`` ``(K, D)``.

    Returns ``num_modes``, ``modes_covered`` (modes with at least ``min_count`` high-quality samples),
    ``modes_covered_strict`` (at least ``strict_share / K`` of the samples), ``high_quality`` (share of samples
    within ``sigmas * std`` of their nearest mode) and ``kl_uniform`` (nearest-mode histogram against uniform).
    Non-finite samples count as low quality and belong to no mode.
    """
    if samples.dim() != 2 or samples.shape[1] != means.shape[1]:
        raise MetricError(f"expected samples of shape (N, {means.shape[1]}), got {tuple(samples.shape)}")
    n, k = len(samples), len(means)
    if n == 0:
        raise MetricError("no samples to score")
    x = samples.detach().to("cpu", torch.float64)
    finite = torch.isfinite(x).all(dim=1)
    dist = torch.cdist(x[finite], means.to(torch.float64))  # (N_finite, K)
    nearest_dist, nearest = dist.min(dim=1)
    return scores_from_nearest(nearest_dist, nearest, n, k, sigmas * std, min_count=min_count,
                               strict_share=strict_share)


def scores_from_nearest(nearest_dist: torch.Tensor, nearest: torch.Tensor, n: int, k: int, threshold: float, *,
                        min_count: int = 1, strict_share: float = 0.1) -> dict[str, float]:
    """The :func:`mode_scores` dictionary from each finite sample's distance to the data (``nearest_dist``) and the
    mode it is nearest to (``nearest``, in ``[0, k)``); ``n`` counts every sample, finite or not, and a sample is
    high quality when its distance is below ``threshold``."""
    good = nearest_dist < threshold
    hq_counts = torch.bincount(nearest[good], minlength=k)
    all_counts = torch.bincount(nearest, minlength=k).double()
    strict_min = strict_share * n / k
    return {
        "num_modes": float(k),
        "modes_covered": float((hq_counts >= min_count).sum()),
        "modes_covered_strict": float((hq_counts >= strict_min).sum()),
        "high_quality": float(good.sum()) / n,
        "kl_uniform": _kl_to_uniform(all_counts),
    }


def _kl_to_uniform(counts: torch.Tensor) -> float:
    total = counts.sum()
    if total == 0:
        return float("nan")  # no finite sample at all
    q = counts[counts > 0] / total
    return float(math.log(len(counts)) + (q * q.log()).sum())


@dataclass(frozen=True, eq=False)  # eq would compare tensors
class GaussianMixture2D:
    """An equal-weight mixture of isotropic Gaussians; a ganzoo dataset (``load``) with its own ``evaluate``."""

    means: torch.Tensor  # (K, 2) float64
    std: float
    train_size: int = TRAIN_SIZE
    test_size: int = TEST_SIZE

    @property
    def num_modes(self) -> int:
        return len(self.means)

    def load(self, request: DataRequest) -> ArrayData:
        """The ``request.split`` split, drawn from ``request.seed``; train and test use different streams."""
        if request.split not in _SPLIT_OFFSET:
            raise DataError(f"unknown split {request.split!r}; use train or test")
        n = self.train_size if request.split == "train" else self.test_size
        seed = request.seed * 1_000_003 + _SPLIT_OFFSET[request.split]
        points, labels = sample_mixture(self.means, self.std, n, seed)
        return ArrayData(points, labels, kind="points", num_classes=self.num_modes)

    def evaluate(self, samples: torch.Tensor, seed: int = 0) -> dict[str, float]:
        """:func:`mode_scores` of generated ``samples`` ``(N, 2)``; deterministic, so ``seed`` is unused."""
        return mode_scores(samples, self.means, self.std)


RING8 = GaussianMixture2D(ring_means(8, radius=2.0), std=0.02)
GRID25 = GaussianMixture2D(grid_means(5, spacing=2.0), std=0.05)
