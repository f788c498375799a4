"""The Frechet distance: analytic cases, agreement with the sqrtm route, and refusals."""

from __future__ import annotations

import numpy as np
import pytest

from ganzoo.errors import MetricError
from ganzoo.metrics.frechet import frechet_distance, frechet_distance_sqrtm
from ganzoo.metrics.stats import StreamingStats


def random_covariance(rng: np.random.Generator, d: int, n: int | None = None) -> np.ndarray:
    """A well-conditioned covariance: the sample covariance of ``n`` (default 4d) correlated Gaussian draws."""
    mixing = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    samples = rng.normal(size=(n or 4 * d, d)) @ mixing
    return np.cov(samples, rowvar=False)


def test_distance_to_itself_is_zero():
    rng = np.random.default_rng(0)
    mu, sigma = rng.normal(size=32), random_covariance(rng, 32)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-9)


def test_equal_covariances_give_squared_mean_distance():
    rng = np.random.default_rng(1)
    sigma = random_covariance(rng, 16)
    mu1, mu2 = rng.normal(size=16), rng.normal(size=16)
    expected = float(np.sum((mu1 - mu2) ** 2))
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(expected, rel=1e-9)


def test_diagonal_gaussians_match_the_closed_form():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(0.1, 4.0, size=12), rng.uniform(0.1, 4.0, size=12)
    mu1, mu2 = rng.normal(size=12), rng.normal(size=12)
    expected = float(np.sum((np.sqrt(a) - np.sqrt(b)) ** 2) + np.sum((mu1 - mu2) ** 2))
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)


def test_invariant_to_sample_order():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 10)) * rng.uniform(0.5, 2.0, size=10)
    y = rng.normal(size=(300, 10)) + 0.3
    shuffled = x[rng.permutation(len(x))]
    s_x = StreamingStats(10).update(x[:170]).update(x[170:])
    s_shuffled = StreamingStats(10).update(shuffled)
    s_y = StreamingStats(10).update(y)
    one = frechet_distance(s_x.mean, s_x.covariance, s_y.mean, s_y.covariance)
    two = frechet_distance(s_shuffled.mean, s_shuffled.covariance, s_y.mean, s_y.covariance)
    assert one == pytest.approx(two, rel=1e-10)


@pytest.mark.parametrize("d", [2, 17, 64])
def test_agrees_with_the_sqrtm_route(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d) * 0.1
    s1, s2 = random_covariance(rng, d), random_covariance(rng, d)
    eig = frechet_distance(mu1, s1, mu2, s2)
    textbook = frechet_distance_sqrtm(mu1, s1, mu2, s2)
    assert eig == pytest.approx(textbook, rel=1e-6)


def test_handles_a_singular_covariance_without_sample_counts():
    rng = np.random.default_rng(4)
    low_rank = rng.normal(size=(8, 3))
    singular = low_rank @ low_rank.T  # rank 3 of 8: tiny negative eigenvalues from rounding are clipped
    value = frechet_distance(np.zeros(8), singular, np.zeros(8), np.eye(8))
    expected = np.trace(singular) + 8 - 2 * np.sqrt(np.clip(np.linalg.eigvalsh(singular), 0, None)).sum()
    assert value == pytest.approx(expected, rel=1e-8)


def test_refuses_fewer_samples_than_dimensions():
    sigma = np.eye(2048)
    with pytest.raises(MetricError) as info:
        frechet_distance(np.zeros(2048), sigma, np.zeros(2048), sigma, n1=10000, n2=500)
    assert str(info.value) == ("FID needs more samples than feature dimensions (got 500 for 2048-d features); "
                               "use --num-samples > 2048")
    with pytest.raises(MetricError, match="got 4 for 4-d"):
        frechet_distance(np.zeros(4), np.eye(4), np.zeros(4), np.eye(4), n1=4)
    assert frechet_distance(np.zeros(4), np.eye(4), np.zeros(4), np.eye(4), n1=5, n2=5) == pytest.approx(0.0)


@pytest.mark.parametrize("args", [
    (np.zeros(3), np.eye(3), np.zeros(4), np.eye(4)),  # dimensions differ
    (np.zeros(3), np.eye(4), np.zeros(3), np.eye(3)),  # sigma does not match mu
    (np.zeros((3, 1)), np.eye(3), np.zeros((3, 1)), np.eye(3)),  # mean not a vector
    (np.array([0.0, np.nan, 0.0]), np.eye(3), np.zeros(3), np.eye(3)),
    (np.zeros(3), np.diag([1.0, np.inf, 1.0]), np.zeros(3), np.eye(3)),
    (np.zeros(3), np.diag([1.0, -1.0, 1.0]), np.zeros(3), np.eye(3)),  # not a covariance
    (np.zeros(3), np.eye(3), np.zeros(3), np.diag([1.0, -1.0, 1.0])),  # nor is this one
])
def test_rejects_bad_input(args):
    with pytest.raises(MetricError):
        frechet_distance(*args)


def test_cholesky_and_symmetric_root_factors_give_the_same_trace():
    from ganzoo.metrics import frechet

    rng = np.random.default_rng(5)
    a, b = rng.normal(size=(40, 30)), rng.normal(size=(40, 30))
    s1, s2 = a.T @ a / 40, b.T @ b / 40
    by_factor = {}
    for name, factor in (("cholesky", np.linalg.cholesky(s1)), ("root", frechet._psd_sqrt(s1, "sigma1"))):
        by_factor[name] = np.sqrt(np.clip(np.linalg.eigvalsh(factor.T @ s2 @ factor), 0, None)).sum()
    assert by_factor["cholesky"] == pytest.approx(by_factor["root"], rel=1e-12)


def test_is_a_python_float():
    assert type(frechet_distance(np.zeros(2), np.eye(2), np.ones(2), np.eye(2))) is float
