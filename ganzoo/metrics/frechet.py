"""The Frechet distance between two Gaussians: ``||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr(sqrt(S1 S2))``.

For any factor ``F`` with ``S1 = F F^T``, ``S1 S2`` has the same eigenvalues as the symmetric positive
semi-definite matrix ``F^T S2 F``, so ``tr(sqrt(S1 S2))`` is the sum of the square roots of that matrix's
eigenvalues. ``F`` is the Cholesky factor of ``S1`` (far cheaper than an eigen-decomposition), or its symmetric
square root from ``scipy.linalg.eigh`` when ``S1`` is singular and has none. One symmetric eigenvalue problem then
gives the trace exactly, in real arithmetic, several times faster than the general ``scipy.linalg.sqrtm`` of the
non-symmetric product, and without its spurious imaginary parts.
"""

from __future__ import annotations

import numpy as np

from ganzoo.errors import MetricError

# eigenvalues below -NEG_TOL * (largest |eigenvalue|) mean the matrix is not a covariance; smaller negatives are
# rounding noise of a (near-)singular covariance and are clipped to 0
NEG_TOL = 1e-6


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                     n1: int | None = None, n2: int | None = None) -> float:
    """FID between N(mu1, sigma1) and N(mu2, sigma2), via a factor of sigma1 and one symmetric eigen-problem.

    ``n1`` / ``n2`` are the sample counts behind each covariance when known; a count not above the feature
    dimension makes the covariance rank-deficient, and the distance is refused rather than reported.
    """
    mu1, sigma1, mu2, sigma2 = _checked(mu1, sigma1, mu2, sigma2, n1, n2)
    import scipy.linalg  # here, not at the top: the plugin that registers Inception would pay for it on every command

    factor = _factor(sigma1)
    inner = factor.T @ sigma2 @ factor
    eigenvalues = scipy.linalg.eigvalsh((inner + inner.T) / 2, check_finite=False)
    trace_sqrt = float(np.sqrt(_clip_negative(eigenvalues, "sigma2")).sum())
    return _combine(mu1, sigma1, mu2, sigma2, trace_sqrt)


def frechet_distance_sqrtm(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray,
                           n1: int | None = None, n2: int | None = None) -> float:
    """The same distance through ``scipy.linalg.sqrtm(sigma1 @ sigma2)``: the textbook route, kept for tests
    and the speed benchmark only."""
    import scipy.linalg

    mu1, sigma1, mu2, sigma2 = _checked(mu1, sigma1, mu2, sigma2, n1, n2)
    root = scipy.linalg.sqrtm(sigma1 @ sigma2)
    trace_sqrt = float(np.real(np.trace(root)))
    return _combine(mu1, sigma1, mu2, sigma2, trace_sqrt)


def check_sample_count(n: int | None, dim: int) -> None:
    """Refuse a covariance estimated from ``n <= dim`` samples (it is rank-deficient, and FID meaningless)."""
    if n is not None and n <= dim:
        raise MetricError(f"FID needs more samples than feature dimensions (got {n} for {dim}-d features); "
                          f"use --num-samples > {dim}")


def _checked(mu1, sigma1, mu2, sigma2, n1, n2) -> tuple[np.ndarray, ...]:
    arrays = []
    for name, value in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise MetricError(f"{name} is not a numeric array ({exc})") from exc
        if not np.isfinite(arr).all():
            raise MetricError(f"{name} contains NaN or infinity")
        arrays.append(arr)
    mu1, sigma1, mu2, sigma2 = arrays
    if mu1.ndim != 1 or mu1.shape != mu2.shape:
        raise MetricError(f"means must be vectors of one length, got {mu1.shape} and {mu2.shape}")
    d = mu1.shape[0]
    if sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise MetricError(f"covariances must be {d}x{d} to match the means, got {sigma1.shape} and {sigma2.shape}")
    for n in sorted(n for n in (n1, n2) if n is not None):
        check_sample_count(n, d)
    # a covariance is symmetric by construction; averaging with the transpose removes rounding asymmetry
    return mu1, (sigma1 + sigma1.T) / 2, mu2, (sigma2 + sigma2.T) / 2


def _clip_negative(eigenvalues: np.ndarray, name: str) -> np.ndarray:
    scale = float(np.abs(eigenvalues).max(initial=0.0))
    if eigenvalues.size and eigenvalues.min() < -NEG_TOL * max(scale, 1e-300):
        raise MetricError(f"{name} is not positive semi-definite (eigenvalue {eigenvalues.min():.3g}); "
                          "is it a covariance matrix?")
    return np.clip(eigenvalues, 0.0, None)


def _factor(sigma: np.ndarray) -> np.ndarray:
    """``F`` with ``sigma = F F^T``: the Cholesky factor, or the symmetric square root for a singular ``sigma``."""
    import scipy.linalg

    try:
        return scipy.linalg.cholesky(sigma, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return _psd_sqrt(sigma, "sigma1")


def _psd_sqrt(sigma: np.ndarray, name: str) -> np.ndarray:
    import scipy.linalg

    eigenvalues, vectors = scipy.linalg.eigh(sigma, check_finite=False)
    root = np.sqrt(_clip_negative(eigenvalues, name))
    return (vectors * root) @ vectors.T


def _combine(mu1, sigma1, mu2, sigma2, trace_sqrt: float) -> float:
    diff = mu1 - mu2
    value = float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_sqrt)
    # the distance is a squared Wasserstein-2 distance, never negative: a tiny negative value is rounding
    return max(value, 0.0)
