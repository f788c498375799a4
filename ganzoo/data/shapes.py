"""GAN Lab's 2-D distributions (Kahng et al. 2018, https://poloclub.github.io/ganlab/): a line, two Gaussians, a
ring, a spiral and two moons (``two-moons``), as datasets beside ``ring8`` / ``grid25``.

``two-gaussians`` is a :class:`~ganzoo.data.toy.GaussianMixture2D` of two wide modes, scored like ``ring8``. The
others are *curves*: a position drawn uniformly along the curves' total length, plus isotropic Gaussian noise of
``std``. A curve has no modes of its own, so each is cut into ``arcs`` pieces of equal length and those pieces are
the modes its ``evaluate`` counts, with the rules of :func:`~ganzoo.data.toy.mode_scores`: a sample is high quality
within ``3 * std`` of the curve (99.7% of the real data: the noise across a curve is 1-D), an arc is covered by one
high-quality sample nearest to it, and ``kl_uniform`` compares the histogram of nearest arcs with uniform. A
generator that covers half a ring scores half the arcs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ganzoo.data.base import ArrayData, DataRequest
from ganzoo.data.toy import _SPLIT_OFFSET, TEST_SIZE, TRAIN_SIZE, GaussianMixture2D, scores_from_nearest
from ganzoo.errors import DataError, MetricError

_DENSE = 1001  # points per curve: chords within 1e-4 of the curves here, spacing well below std


def _polyline(curve: Callable[[torch.Tensor], torch.Tensor], n: int) -> torch.Tensor:
    """``n`` points equally spaced *in arc length* along ``curve(t)``, ``t`` in [0, 1] (float64 ``(n, 2)``)."""
    fine = curve(torch.linspace(0.0, 1.0, 8 * n, dtype=torch.float64))
    run = torch.cat([torch.zeros(1, dtype=torch.float64), (fine[1:] - fine[:-1]).norm(dim=1).cumsum(0)])
    return _along(fine, run, torch.linspace(0.0, float(run[-1]), n, dtype=torch.float64))


def _along(points: torch.Tensor, run: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Positions at arc lengths ``s`` on the polyline ``points`` whose cumulative lengths are ``run``."""
    i = torch.searchsorted(run, s.clamp(0, float(run[-1])), right=True).clamp(1, len(run) - 1)
    w = ((s - run[i - 1]) / (run[i] - run[i - 1]).clamp_min(1e-12)).unsqueeze(1)
    return points[i - 1] + w * (points[i] - points[i - 1])


@dataclass(frozen=True, eq=False)  # eq would compare tensors
class Curves2D:
    """Points near one or more curves (see the module docstring); a ganzoo dataset with its own ``evaluate``."""

    curves: tuple[torch.Tensor, ...]  # each (M, 2) float64, equally spaced in arc length
    std: float
    arcs: int  # pieces of equal length per curve: the modes evaluate counts
    train_size: int = TRAIN_SIZE
    test_size: int = TEST_SIZE

    @classmethod
    def of(cls, *curves: Callable[[torch.Tensor], torch.Tensor], std: float, arcs: int) -> Curves2D:
        """From parametric curves ``t -> (len(t), 2)``, ``t`` in [0, 1]."""
        return cls(tuple(_polyline(c, _DENSE) for c in curves), std, arcs)

    @property
    def num_modes(self) -> int:
        return len(self.curves) * self.arcs

    def _lengths(self) -> torch.Tensor:
        return torch.stack([(c[1:] - c[:-1]).norm(dim=1).sum() for c in self.curves])

    def sample(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` float32 points and the arc each came from (int64)."""
        gen = torch.Generator().manual_seed(seed)
        lengths = self._lengths()
        s = torch.rand(n, generator=gen, dtype=torch.float64) * lengths.sum()
        ends = lengths.cumsum(0)
        which = torch.searchsorted(ends, s, right=True).clamp(max=len(self.curves) - 1)
        local = s - (ends[which] - lengths[which])
        points = torch.empty(n, 2, dtype=torch.float64)
        for c, curve in enumerate(self.curves):
            rows = which == c
            run = torch.linspace(0.0, float(lengths[c]), len(curve), dtype=torch.float64)
            points[rows] = _along(curve, run, local[rows])
        arc = (local / lengths[which] * self.arcs).long().clamp(max=self.arcs - 1)
        noise = torch.randn(n, 2, generator=gen, dtype=torch.float64)
        return (points + self.std * noise).float(), which * self.arcs + arc

    def load(self, request: DataRequest) -> ArrayData:
        """The ``request.split`` split, drawn from ``request.seed``; train and test use different streams."""
        if request.split not in _SPLIT_OFFSET:
            raise DataError(f"unknown split {request.split!r}; use train or test")
        n = self.train_size if request.split == "train" else self.test_size
        points, labels = self.sample(n, request.seed * 1_000_003 + _SPLIT_OFFSET[request.split])
        return ArrayData(points, labels, kind="points", num_classes=self.num_modes)

    def evaluate(self, samples: torch.Tensor, seed: int = 0) -> dict[str, float]:
        """Arcs covered, high-quality share and KL to uniform of generated ``samples`` ``(N, 2)``; deterministic."""
        if samples.dim() != 2 or samples.shape[1] != 2:
            raise MetricError(f"expected samples of shape (N, 2), got {tuple(samples.shape)}")
        if len(samples) == 0:
            raise MetricError("no samples to score")
        vertices = torch.cat(self.curves)  # (C * M, 2)
        arc_of_vertex = torch.cat([  # vertex i lies at i / (M - 1) of its curve's length
            c * self.arcs + (torch.arange(len(curve)) * self.arcs // (len(curve) - 1)).clamp(max=self.arcs - 1)
            for c, curve in enumerate(self.curves)])
        x = samples.detach().to("cpu", torch.float64)
        x = x[torch.isfinite(x).all(dim=1)]
        nearest_dist = torch.empty(len(x), dtype=torch.float64)
        nearest = torch.empty(len(x), dtype=torch.long)
        for start in range(0, len(x), 1024):  # bounded memory: (1024, vertices) distances at a time
            d, i = torch.cdist(x[start:start + 1024], vertices).min(dim=1)
            nearest_dist[start:start + 1024], nearest[start:start + 1024] = d, arc_of_vertex[i]
        return scores_from_nearest(nearest_dist, nearest, len(samples), self.num_modes, 3 * self.std)


def _segment(a: tuple[float, float], b: tuple[float, float]) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda t: torch.stack([a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t], dim=1)


def _arc(cx: float, cy: float, r: float, start: float, stop: float) -> Callable[[torch.Tensor], torch.Tensor]:
    def arc(t: torch.Tensor) -> torch.Tensor:
        angle = start + (stop - start) * t
        return torch.stack([cx + r * torch.cos(angle), cy + r * torch.sin(angle)], dim=1)

    return arc


def _spiral(t: torch.Tensor) -> torch.Tensor:
    angle = math.pi / 2 + 2.5 * math.pi * t  # one and a quarter turns, radius 0.375 to 2.25
    radius = 0.75 * angle / math.pi
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)


LINE = Curves2D.of(_segment((-2.0, -1.0), (2.0, 1.0)), std=0.05, arcs=8)
TWO_GAUSSIANS = GaussianMixture2D(torch.tensor([[-1.25, -1.25], [1.25, 1.25]], dtype=torch.float64), std=0.25)
RING = Curves2D.of(_arc(0.0, 0.0, 2.0, 0.0, 2 * math.pi), std=0.05, arcs=8)
SPIRAL = Curves2D.of(_spiral, std=0.05, arcs=10)
# scikit-learn's make_moons layout (upper moon centred at (0, 0), lower at (1, 0.5)), centred and scaled by 1.6
MOONS = Curves2D.of(_arc(-0.8, -0.4, 1.6, 0.0, math.pi), _arc(0.8, 0.4, 1.6, math.pi, 2 * math.pi), std=0.05, arcs=4)
