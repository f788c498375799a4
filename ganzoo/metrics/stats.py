"""Streaming mean and covariance of features in float64, and their pytorch-fid compatible ``.npz`` form.

Each batch is reduced to its own mean and centred scatter matrix in float64, then merged into the running totals
with Chan et al.'s pairwise update, so no ``sum(x x^T) - n mu mu^T`` cancellation happens however large the mean is
relative to the spread. Memory is O(d^2) whatever the number of samples.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from ganzoo.errors import MetricError

ArrayLike = torch.Tensor | np.ndarray


def as_float64(batch: ArrayLike, name: str = "features") -> torch.Tensor:
    """A 2-D float64 tensor view of a torch or numpy ``(n, d)`` array (on the tensor's own device)."""
    x = batch if isinstance(batch, torch.Tensor) else torch.from_numpy(np.asarray(batch))
    if x.dim() != 2:
        raise MetricError(f"{name} must be a 2-D (samples, dims) array, got shape {tuple(x.shape)}")
    if x.device.type == "mps":  # MPS has no float64
        x = x.cpu()
    return x.detach().to(torch.float64)


class StreamingStats:
    """Running mean and unbiased covariance (``n - 1``, as ``np.cov``) of ``dim``-dimensional features.

    ``n`` is None only for statistics loaded from a file that does not record the sample count (pytorch-fid
    ``--save-stats`` files); such statistics can be read but not extended.
    """

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise MetricError(f"feature dimension must be positive, got {dim}")
        self.dim = int(dim)
        self.n: int | None = 0
        self._mean = torch.zeros(dim, dtype=torch.float64)
        self._scatter = torch.zeros(dim, dim, dtype=torch.float64)  # sum of (x - mean)(x - mean)^T

    def update(self, batch: ArrayLike) -> StreamingStats:
        """Add the rows of a torch or numpy ``(n, dim)`` batch; returns ``self``."""
        x = as_float64(batch)
        if x.shape[1] != self.dim:
            raise MetricError(f"batch has {x.shape[1]}-d features, these statistics are {self.dim}-d")
        if self.n is None:
            raise MetricError("cannot add samples to statistics whose sample count is unknown")
        m = x.shape[0]
        if m == 0:
            return self
        if not torch.isfinite(x).all():
            raise MetricError("features contain NaN or infinity")
        if self._mean.device != x.device:
            self._mean, self._scatter = self._mean.to(x.device), self._scatter.to(x.device)
        batch_mean = x.mean(0)
        centred = x - batch_mean
        batch_scatter = centred.T @ centred
        total = self.n + m
        delta = batch_mean - self._mean
        self._scatter += batch_scatter + torch.outer(delta, delta) * (self.n * m / total)
        self._mean += delta * (m / total)
        self.n = total
        return self

    @property
    def mean(self) -> np.ndarray:
        """The float64 mean ``(dim,)``."""
        if self.n == 0:
            raise MetricError("no samples have been added to these statistics")
        return self._mean.cpu().numpy().copy()

    @property
    def covariance(self) -> np.ndarray:
        """The unbiased float64 covariance ``(dim, dim)`` (divides by ``n - 1``)."""
        if self.n is None:
            return self._scatter.cpu().numpy().copy()  # loaded as a covariance already
        if self.n < 2:
            raise MetricError(f"a covariance needs at least 2 samples, got {self.n}")
        return (self._scatter / (self.n - 1)).cpu().numpy()

    @classmethod
    def from_moments(cls, mean: np.ndarray, covariance: np.ndarray, n: int | None) -> StreamingStats:
        """Statistics with a known mean and covariance (``n`` samples, or None when unknown)."""
        mean = np.asarray(mean, dtype=np.float64)
        covariance = np.asarray(covariance, dtype=np.float64)
        if mean.ndim != 1 or covariance.shape != (mean.shape[0], mean.shape[0]):
            raise MetricError(f"mean {mean.shape} and covariance {covariance.shape} do not describe one Gaussian")
        if n is not None and n < 2:
            raise MetricError(f"statistics need at least 2 samples, got {n}")
        stats = cls(mean.shape[0])
        stats.n = None if n is None else int(n)
        stats._mean = torch.from_numpy(mean.copy())
        scale = 1.0 if n is None else float(n - 1)
        stats._scatter = torch.from_numpy(covariance * scale)
        return stats

    def arrays(self) -> dict[str, np.ndarray]:
        """``mu``, ``sigma`` and (when known) ``n``, the keys pytorch-fid's ``--save-stats`` writes (plus ``n``)."""
        out = {"mu": self.mean, "sigma": self.covariance}
        if self.n is not None:
            out["n"] = np.asarray(self.n, dtype=np.int64)
        return out

    def save_npz(self, path: str | Path) -> None:
        """Write ``mu``, ``sigma`` and ``n`` to ``path`` atomically (readable by pytorch-fid)."""
        write_npz(path, self.arrays())

    @classmethod
    def load_npz(cls, path: str | Path, dim: int | None = None) -> StreamingStats:
        """Read ``mu`` / ``sigma`` (and ``n`` when present) from an ``.npz``; ``dim`` checks the dimension."""
        return stats_from_arrays(read_npz(path), str(path), dim)


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to an ``.npz`` at ``path`` atomically: a reader sees the old file or the whole new one."""
    from ganzoo.engine.checkpoint import atomic_write

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    atomic_write(Path(path), write)


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, loaded without unpickling; unreadable files raise :class:`MetricError`."""
    path = Path(path)
    if not path.is_file():
        raise MetricError(f"statistics file {path} does not exist")
    with path.open("rb") as f:
        magic = f.read(6)
    if not magic.startswith(b"PK") and magic != b"\x93NUMPY":  # np.load takes anything else for a pickle
        raise MetricError(f"{path} is not a readable .npz of statistics (it is not a zip archive of arrays)")
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise MetricError(f"{path} is a single .npy array, not an .npz of statistics")
        with data:
            return {key: data[key] for key in data.files}
    except MetricError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        reason = "it holds pickled objects" if "pickle" in str(exc).lower() else str(exc).splitlines()[0]
        raise MetricError(f"{path} is not a readable .npz of statistics ({reason})") from exc


def stats_from_arrays(arrays: dict[str, np.ndarray], source: str, dim: int | None = None) -> StreamingStats:
    """Validate ``mu`` / ``sigma`` / optional ``n`` arrays from ``source`` and build statistics from them."""
    missing = [key for key in ("mu", "sigma") if key not in arrays]
    if missing:
        raise MetricError(f"{source} has no {' or '.join(missing)} array; expected pytorch-fid style mu and sigma")
    mu, sigma = arrays["mu"], arrays["sigma"]
    if mu.dtype.kind not in "fiu" or sigma.dtype.kind not in "fiu":
        raise MetricError(f"{source}: mu and sigma must be numeric arrays")
    if mu.ndim != 1 or sigma.shape != (mu.shape[0], mu.shape[0]):
        raise MetricError(f"{source}: mu has shape {mu.shape} and sigma {sigma.shape}; expected (d,) and (d, d)")
    if dim is not None and mu.shape[0] != dim:
        raise MetricError(f"{source} holds {mu.shape[0]}-d statistics, the extractor gives {dim}-d features")
    if not (np.isfinite(mu).all() and np.isfinite(sigma).all()):
        raise MetricError(f"{source}: mu or sigma contains NaN or infinity")
    n = None
    if "n" in arrays:
        n_arr = arrays["n"]
        if n_arr.shape != () or n_arr.dtype.kind not in "iu":
            raise MetricError(f"{source}: n must be an integer scalar")
        n = int(n_arr)
        if n < 2:
            raise MetricError(f"{source}: n = {n}; statistics need at least 2 samples")
    return StreamingStats.from_moments(mu, sigma, n)
