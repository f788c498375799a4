"""Streaming statistics, KID, Inception Score, precision/recall and mode coverage on data with known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from ganzoo.errors import GanzooError, MetricError
from ganzoo.metrics.coverage import mode_coverage
from ganzoo.metrics.inception_score import inception_score
from ganzoo.metrics.kid import kernel_inception_distance
from ganzoo.metrics.precision_recall import precision_recall
from ganzoo.metrics.stats import StreamingStats

# --- streaming statistics ----------------------------------------------------------------------------------------


def test_stats_match_numpy_for_torch_and_numpy_batches():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(103, 6)) @ rng.normal(size=(6, 6)) + 3.0
    stats = StreamingStats(6)
    stats.update(torch.from_numpy(x[:40]).float())  # float32 torch batch...
    stats.update(x[40:41])  # ...a single row...
    stats.update(x[41:])  # ...and a float64 numpy batch
    assert stats.n == 103
    np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(stats.covariance, np.cov(x, rowvar=False), rtol=1e-5, atol=1e-6)
    assert stats.mean.dtype == np.float64 and stats.covariance.dtype == np.float64


def test_stats_stay_accurate_with_a_large_offset():
    # sum(x x^T) - n mu mu^T would lose every significant digit here; the pairwise merge does not
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5000, 3)) * 1e-3 + 1e6
    stats = StreamingStats(3)
    for chunk in np.array_split(x, 37):
        stats.update(chunk)
    np.testing.assert_allclose(stats.covariance, np.cov(x, rowvar=False), rtol=1e-6)


def test_stats_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 4))
    stats = StreamingStats(4).update(x)
    stats.save_npz(tmp_path / "s.npz")
    with np.load(tmp_path / "s.npz", allow_pickle=False) as data:  # what pytorch-fid reads
        assert set(data.files) == {"mu", "sigma", "n"}
        np.testing.assert_array_equal(data["mu"], stats.mean)
    loaded = StreamingStats.load_npz(tmp_path / "s.npz", dim=4)
    assert loaded.n == 50
    np.testing.assert_allclose(loaded.covariance, stats.covariance, rtol=1e-12)
    loaded.update(x)  # and it keeps accumulating as if never saved
    np.testing.assert_allclose(loaded.covariance, np.cov(np.concatenate([x, x]), rowvar=False), rtol=1e-10)


def test_stats_load_pytorch_fid_file_without_n(tmp_path):
    mu, sigma = np.arange(3.0), np.diag([1.0, 2.0, 3.0])
    np.savez(tmp_path / "fid_stats.npz", mu=mu, sigma=sigma)
    loaded = StreamingStats.load_npz(tmp_path / "fid_stats.npz")
    assert loaded.n is None
    np.testing.assert_array_equal(loaded.mean, mu)
    np.testing.assert_array_equal(loaded.covariance, sigma)
    with pytest.raises(MetricError, match="unknown"):
        loaded.update(np.zeros((2, 3)))


@pytest.mark.parametrize("arrays, match", [
    ({"mu": np.zeros(3)}, "no sigma"),
    ({"sigma": np.eye(3)}, "no mu"),
    ({"mu": np.zeros(3), "sigma": np.eye(4)}, "expected"),
    ({"mu": np.zeros(3), "sigma": np.eye(3), "n": np.array([5, 6])}, "integer scalar"),
    ({"mu": np.zeros(3), "sigma": np.eye(3) * np.nan}, "NaN"),
    ({"mu": np.array(["a", "b"]), "sigma": np.eye(2)}, "numeric"),
])
def test_stats_malformed_npz(tmp_path, arrays, match):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(MetricError, match=match):
        StreamingStats.load_npz(tmp_path / "bad.npz")


def test_stats_unreadable_files(tmp_path):
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    np.savez(tmp_path / "pickled.npz", mu=np.array([{"a": 1}], dtype=object), sigma=np.eye(1))
    np.save(tmp_path / "single.npy", np.zeros(3))
    np.savez(tmp_path / "ok.npz", mu=np.zeros(3), sigma=np.eye(3))
    for name, match in [("junk.npz", "not a readable"), ("pickled.npz", "pickled"), ("single.npy", "single"),
                        ("missing.npz", "does not exist")]:
        with pytest.raises(MetricError, match=match) as info:
            StreamingStats.load_npz(tmp_path / name)
        assert "\n" not in str(info.value)
    with pytest.raises(MetricError, match="3-d statistics, the extractor gives 2048-d"):
        StreamingStats.load_npz(tmp_path / "ok.npz", dim=2048)


def test_stats_refuse_bad_batches_and_empty_results():
    stats = StreamingStats(3)
    with pytest.raises(MetricError, match="no samples"):
        _ = stats.mean
    with pytest.raises(MetricError, match="4-d features"):
        stats.update(np.zeros((2, 4)))
    with pytest.raises(MetricError, match="2-D"):
        stats.update(np.zeros(3))
    with pytest.raises(MetricError, match="NaN"):
        stats.update(np.full((2, 3), np.nan))
    stats.update(np.ones((1, 3)))
    with pytest.raises(MetricError, match="at least 2"):
        _ = stats.covariance
    assert issubclass(MetricError, GanzooError)


# --- KID -----------------------------------------------------------------------------------------------------------


def kid_by_loops(real: np.ndarray, fake: np.ndarray, num_subsets: int, subset_size: int, seed: int):
    """The unbiased MMD^2 written out pair by pair, drawing subsets as torch-fidelity does."""
    d = real.shape[1]
    m = min(subset_size, len(real), len(fake))

    def k(a, b):
        return (sum(a[i] * b[i] for i in range(d)) / d + 1.0) ** 3

    rng = np.random.RandomState(seed)
    values = []
    for _ in range(num_subsets):
        x = real[rng.choice(len(real), m, replace=False)]
        y = fake[rng.choice(len(fake), m, replace=False)]
        xx = sum(k(x[i], x[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
        yy = sum(k(y[i], y[j]) for i, j in itertools.permutations(range(m), 2)) / (m * (m - 1))
        xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
        values.append(xx + yy - 2 * xy)
    return float(np.mean(values)), float(np.std(values))


def test_kid_matches_a_direct_loop():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(14, 5))
    fake = rng.normal(size=(11, 5)) * 1.5 + 0.4
    got = kernel_inception_distance(real, fake, num_subsets=4, subset_size=8, seed=7)
    want = kid_by_loops(real, fake, 4, 8, 7)
    assert got == pytest.approx(want, rel=1e-10)


def test_kid_clips_the_subset_size_to_the_smaller_set():
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(12, 3)), rng.normal(size=(9, 3)) + 1.0
    got = kernel_inception_distance(torch.from_numpy(real), torch.from_numpy(fake), num_subsets=3,
                                    subset_size=1000, seed=0)
    assert got == pytest.approx(kid_by_loops(real, fake, 3, 9, 0), rel=1e-10)


def test_kid_of_a_shuffled_copy_is_near_zero():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 16))
    shifted, _ = kernel_inception_distance(x, x + 0.5, num_subsets=10, subset_size=100)
    # independent subsets of one pool: the unbiased estimate scatters around 0
    mean, std = kernel_inception_distance(x, x[rng.permutation(400)], num_subsets=20, subset_size=100)
    assert abs(mean) < 3 * std
    assert abs(mean) < 0.05 * shifted
    # the whole set against its own shuffle: the cross term keeps the diagonal the within-set terms leave out,
    # so the estimate is exactly 2/m (mean off-diagonal kernel - mean diagonal kernel), a small negative number
    whole, spread = kernel_inception_distance(x, x[rng.permutation(400)], num_subsets=2, subset_size=400)
    k = (x @ x.T / 16 + 1) ** 3
    off_diagonal = (k.sum() - np.trace(k)) / (400 * 399)
    assert whole == pytest.approx(2 / 400 * (off_diagonal - np.trace(k) / 400), rel=1e-9)
    assert spread == pytest.approx(0.0, abs=1e-12)
    assert abs(whole) < 0.05 * shifted


def test_kid_rejects_bad_input():
    with pytest.raises(MetricError, match="3-d"):
        kernel_inception_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(MetricError, match="at least 2"):
        kernel_inception_distance(np.zeros((1, 3)), np.zeros((5, 3)))


# --- Inception Score -------------------------------------------------------------------------------------------------


def test_is_of_uniform_predictions_is_one():
    mean, std = inception_score(torch.zeros(50, 10), splits=5)
    assert mean == pytest.approx(1.0, abs=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("num_classes", [2, 10, 100])
def test_is_of_confident_balanced_predictions_is_the_class_count(num_classes):
    labels = torch.arange(num_classes * 4) % num_classes
    logits = torch.nn.functional.one_hot(labels, num_classes).double() * 100.0  # p(y|x) one-hot to 1e-40
    mean, std = inception_score(logits, splits=4)
    assert mean == pytest.approx(num_classes, rel=1e-9)
    assert std == pytest.approx(0.0, abs=1e-9)


def test_is_lies_between_one_and_k_and_shuffling_is_seeded():
    logits = torch.randn(200, 7, generator=torch.Generator().manual_seed(0)) * 3
    mean, _ = inception_score(logits, splits=10)
    assert 1.0 < mean < 7.0
    assert inception_score(logits, 10, shuffle_seed=2020) == inception_score(logits, 10, shuffle_seed=2020)
    assert inception_score(logits, 1, shuffle_seed=2020)[0] == pytest.approx(inception_score(logits, 1)[0])


def test_is_needs_a_sample_per_split():
    with pytest.raises(MetricError, match="per split"):
        inception_score(torch.zeros(5, 3), splits=10)


# --- precision / recall ----------------------------------------------------------------------------------------------


def on_a_line(*xs: float) -> np.ndarray:
    return np.array([[x, 0.0] for x in xs])


def test_pr_identical_sets_are_perfect():
    x = np.random.default_rng(6).normal(size=(40, 5))
    assert precision_recall(x, x.copy(), k=3) == (1.0, 1.0)


def test_pr_disjoint_sets_score_zero():
    real = on_a_line(*range(10))
    assert precision_recall(real, real + 100.0, k=1) == (0.0, 0.0)


def test_pr_hand_computed_case():
    # real points 0..9 on a line; with k=1 each real ball has radius 1
    real = on_a_line(*range(10))
    # 0.5 and 3.2 fall inside real balls, 100 and 200 do not: precision 2/4.
    # fake radii (k=1): 0.5 -> 2.7, 3.2 -> 2.7, 100 -> 96.8, 200 -> 100; together they hold every real point
    fake = on_a_line(0.5, 3.2, 100.0, 200.0)
    precision, recall = precision_recall(real, fake, k=1, dtype=torch.float64)
    assert precision == pytest.approx(0.5)
    assert recall == pytest.approx(1.0)


def test_pr_uses_the_kth_other_neighbour():
    real = on_a_line(0.0, 0.1, 0.2, 10.0, 10.1, 10.2)
    # k=2: the ball around 0.2 has radius 0.2 (its 2nd nearest other point is 0.0), so 0.35 is inside; with k=1
    # every radius is 0.1 and 0.35 is outside
    fake = on_a_line(0.35, 0.36, 5.0)
    assert precision_recall(real, fake, k=2, dtype=torch.float64)[0] == pytest.approx(2 / 3)
    assert precision_recall(real, fake, k=1, dtype=torch.float64)[0] == pytest.approx(0.0)


def test_pr_blocks_do_not_change_the_answer():
    rng = np.random.default_rng(7)
    real, fake = rng.normal(size=(57, 4)), rng.normal(size=(43, 4)) * 0.5 + 1.0
    whole = precision_recall(real, fake, k=3, block=10_000)
    assert precision_recall(real, fake, k=3, block=5) == whole
    assert 0.0 < whole[0] < 1.0 and 0.0 < whole[1] < 1.0


def test_pr_needs_more_than_k_samples():
    with pytest.raises(MetricError, match="more than 3"):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


# --- mode coverage ---------------------------------------------------------------------------------------------------


def test_coverage_of_a_generator_missing_half_the_classes():
    real_labels = np.repeat(np.arange(10), 50)  # uniform over 10 classes
    fake_classes = np.repeat(np.arange(5), 20)  # 100 samples over classes 0..4
    logits = torch.nn.functional.one_hot(torch.from_numpy(fake_classes), 10).float()
    out = mode_coverage(logits, real_labels, 10)
    assert out["classes_covered"] == 5
    assert out["coverage"] == pytest.approx(0.5)
    assert out["min_share"] == pytest.approx(0.01)
    p_fake = (np.bincount(fake_classes, minlength=10) + 1) / (100 + 10)
    assert out["kl_real_fake"] == pytest.approx(float(np.sum(0.1 * np.log(0.1 / p_fake))))
    assert out["fake_histogram"] == [20] * 5 + [0] * 5


def test_coverage_threshold_ignores_stray_samples():
    real_labels = np.arange(4)
    fake_classes = torch.tensor([0] * 50 + [1] * 49 + [2])  # class 2 holds 1% of the samples
    logits = torch.nn.functional.one_hot(fake_classes, 4).float()
    assert mode_coverage(logits, real_labels, 4)["classes_covered"] == 2  # default share 0.1/4 = 2.5%
    assert mode_coverage(logits, real_labels, 4, min_share=0.01)["classes_covered"] == 3


def test_coverage_rejects_mismatched_classes():
    with pytest.raises(MetricError, match="expected"):
        mode_coverage(torch.zeros(5, 1008), np.arange(5), 10)
    with pytest.raises(MetricError, match="labels must lie"):
        mode_coverage(torch.zeros(5, 3), np.array([0, 7]), 3)
