"""Property tests: the Frechet distance on arbitrary valid Gaussians, streaming statistics under any batching."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from ganzoo.metrics.frechet import frechet_distance
from ganzoo.metrics.stats import StreamingStats

finite = st.floats(min_value=-10, max_value=10, allow_nan=False, allow_infinity=False)


@st.composite
def gaussians(draw, d: int):
    """A mean and a PSD covariance ``A A^T``; A may have fewer columns than d, giving singular covariances."""
    mu = draw(arrays(np.float64, d, elements=finite))
    rank = draw(st.integers(0, d + 2))
    factor = draw(arrays(np.float64, (d, rank), elements=finite))
    return mu, factor @ factor.T


@st.composite
def gaussian_pairs(draw):
    d = draw(st.integers(1, 6))
    return draw(gaussians(d)), draw(gaussians(d))


def scale(a, b) -> float:
    (mu1, s1), (mu2, s2) = a, b
    return 1.0 + float(np.trace(s1) + np.trace(s2) + np.sum((mu1 - mu2) ** 2))


@settings(max_examples=100, deadline=None)
@given(gaussian_pairs())
def test_fid_is_finite_non_negative_and_symmetric(pair):
    a, b = pair
    forward = frechet_distance(*a, *b)
    backward = frechet_distance(*b, *a)
    assert np.isfinite(forward) and forward >= 0.0
    # singular covariances put square roots of rounding noise into the trace: allow ~sqrt(eps) of the scale
    assert abs(forward - backward) <= 1e-6 * scale(a, b)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6).flatmap(gaussians))
def test_fid_of_a_gaussian_with_itself_is_zero(g):
    assert frechet_distance(*g, *g) <= 1e-6 * scale(g, g)


@st.composite
def data_and_splits(draw):
    n = draw(st.integers(2, 40))
    d = draw(st.integers(1, 5))
    x = draw(arrays(np.float64, (n, d), elements=st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)))
    cuts = sorted(draw(st.lists(st.integers(0, n), max_size=6)))
    return x, cuts


@settings(max_examples=100, deadline=None)
@given(data_and_splits())
def test_streaming_stats_equal_numpy_for_any_batching(case):
    x, cuts = case
    stats = StreamingStats(x.shape[1])
    for chunk in np.split(x, cuts):  # empty chunks included
        stats.update(chunk)
    assert stats.n == len(x)
    tol = 1e-9 * (1.0 + float(np.abs(x).max()) ** 2)
    np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-9, atol=tol)
    np.testing.assert_allclose(stats.covariance, np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1]),
                               rtol=1e-9, atol=tol)
