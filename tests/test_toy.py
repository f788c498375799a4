"""The 2-D mode-collapse mixtures (ring8, grid25) and their mode-coverage scores."""

from __future__ import annotations

import math

import pytest
import torch
from ganzoo_plugins import losses, toy, vanilla

import ganzoo
from ganzoo.data import DataRequest, load_dataset
from ganzoo.data.toy import GRID25, RING8, grid_means, mode_scores, ring_means, sample_mixture
from ganzoo.errors import DataError, MetricError
from ganzoo.plugins import Plugins


@pytest.fixture(scope="module")
def registry():
    plugins = Plugins()
    for name, module in (("vanilla", vanilla), ("losses", losses), ("toy", toy)):
        plugins.add(module, name)
    return plugins.build_registry()


def _at_modes(means: torch.Tensor, modes: list[int], per_mode: int) -> torch.Tensor:
    return means[modes].repeat_interleave(per_mode, dim=0).float()


# --- geometry -------------------------------------------------------------------------------------------------

def test_ring_means_lie_evenly_on_a_circle_of_radius_2():
    means = ring_means(8, radius=2.0)
    assert means.shape == (8, 2)
    torch.testing.assert_close(means.norm(dim=1), torch.full((8,), 2.0, dtype=torch.float64))
    torch.testing.assert_close(means[0], torch.tensor([2.0, 0.0], dtype=torch.float64))
    torch.testing.assert_close(means[2], torch.tensor([0.0, 2.0], dtype=torch.float64))


def test_grid_means_are_the_5x5_grid_from_minus4_to_4():
    means = grid_means(5, spacing=2.0)
    assert means.shape == (25, 2)
    expected = {(float(x), float(y)) for x in (-4, -2, 0, 2, 4) for y in (-4, -2, 0, 2, 4)}
    assert {tuple(row) for row in means.tolist()} == expected


def test_sample_mixture_is_reproducible_and_centred_on_its_modes():
    means = ring_means()
    points, labels = sample_mixture(means, 0.02, 4000, seed=3)
    again, _ = sample_mixture(means, 0.02, 4000, seed=3)
    assert points.dtype == torch.float32 and points.shape == (4000, 2) and labels.dtype == torch.int64
    torch.testing.assert_close(points, again)
    offsets = points.double() - means[labels]
    assert offsets.std().item() == pytest.approx(0.02, rel=0.05)
    assert torch.bincount(labels, minlength=8).min().item() > 400  # every mode drawn, roughly 500 each


# --- the dataset providers ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "mixture"), [("ring8", RING8), ("grid25", GRID25)])
def test_datasets_register_as_points_with_an_evaluate_hook(registry, name, mixture):
    spec = registry.dataset(name)
    assert spec.kind == "points" and spec.evaluate is not None and spec.num_classes == mixture.num_modes
    train = load_dataset(registry, name, split="train", seed=0)
    test = load_dataset(registry, name, split="test", seed=0)
    assert train.kind == "points" and train.data.dtype == torch.float32
    assert train.data.shape == (100_000, 2) and test.data.shape == (10_000, 2)
    assert not torch.equal(train.data[:10_000], test.data)  # the splits come from different streams
    torch.testing.assert_close(load_dataset(registry, name, split="test", seed=0).data, test.data)
    assert not torch.equal(load_dataset(registry, name, split="test", seed=1).data, test.data)


def test_load_rejects_an_unknown_split():
    with pytest.raises(DataError, match="split"):
        RING8.load(DataRequest(split="validation"))


@pytest.mark.parametrize("mixture", [RING8, GRID25], ids=["ring8", "grid25"])
def test_real_data_scores_as_the_2d_gaussian_predicts(mixture):
    data = mixture.load(DataRequest(split="test", seed=0)).data
    scores = mixture.evaluate(data, 0)
    assert scores["modes_covered"] == mixture.num_modes == scores["modes_covered_strict"]
    # P(|x - mu| < 3 std) for a 2-D isotropic Gaussian: the radius is Rayleigh, 1 - exp(-9/2)
    assert scores["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.005)
    assert scores["kl_uniform"] == pytest.approx(0.0, abs=0.01)


# --- the scores on samples with known answers -----------------------------------------------------------------

def test_all_modes_hit_equally():
    means = ring_means()
    scores = mode_scores(_at_modes(means, list(range(8)), 10), means, 0.02)
    assert scores == {"num_modes": 8.0, "modes_covered": 8.0, "modes_covered_strict": 8.0,
                      "high_quality": 1.0, "kl_uniform": pytest.approx(0.0, abs=1e-12)}


def test_only_three_modes_hit():
    means = grid_means()
    x = _at_modes(means, [0, 7, 24], 20) + 0.04  # 0.04 * sqrt(2) = 0.057 from the centre, within 3 * 0.05
    scores = mode_scores(x, means, 0.05)
    assert scores["modes_covered"] == 3.0 and scores["num_modes"] == 25.0
    assert scores["high_quality"] == 1.0
    assert scores["kl_uniform"] == pytest.approx(math.log(25 / 3))


def test_points_far_from_every_mode_have_quality_zero():
    means = ring_means()
    x = torch.tensor([[100.0, 0.0]]).repeat(50, 1)  # nearest mode is (2, 0), 98 away
    scores = mode_scores(x, means, 0.02)
    assert scores["high_quality"] == 0.0 and scores["modes_covered"] == 0.0
    assert scores["kl_uniform"] == pytest.approx(math.log(8))


def test_just_outside_three_std_is_low_quality():
    means = ring_means()
    inside = means[:1].float() + torch.tensor([[0.059, 0.0]])
    outside = means[:1].float() + torch.tensor([[0.061, 0.0]])
    assert mode_scores(inside, means, 0.02)["high_quality"] == 1.0
    assert mode_scores(outside, means, 0.02)["high_quality"] == 0.0


def test_a_stray_sample_covers_a_mode_only_under_the_lenient_rule():
    means = ring_means()
    x = torch.cat([_at_modes(means, [0, 1, 2], 100), _at_modes(means, [5], 1)])  # 301 samples
    scores = mode_scores(x, means, 0.02)
    assert scores["modes_covered"] == 4.0  # PacGAN's rule: one high-quality sample is enough
    assert scores["modes_covered_strict"] == 3.0  # needs 0.1 / 8 of 301 = 3.8 samples
    assert mode_scores(x, means, 0.02, min_count=2)["modes_covered"] == 3.0


def test_mixed_quality_share_and_non_finite_samples():
    means = ring_means()
    x = torch.cat([_at_modes(means, [0, 4], 3), torch.tensor([[0.0, 0.0], [float("nan"), 1.0]])])
    scores = mode_scores(x, means, 0.02)
    assert scores["high_quality"] == pytest.approx(6 / 8)
    assert scores["modes_covered"] == 2.0


def test_bad_shapes_raise_metric_errors():
    with pytest.raises(MetricError, match="shape"):
        RING8.evaluate(torch.zeros(10, 3), 0)
    with pytest.raises(MetricError, match="no samples"):
        RING8.evaluate(torch.zeros(0, 2), 0)


# --- training on points ---------------------------------------------------------------------------------------

def test_gan_trains_on_ring8_and_its_samples_can_be_scored(registry, tmp_path):
    ganzoo.train("gan", tmp_path / "run", registry=registry, dataset="ring8", steps=3, batch_size=16,
                 sample_every=1000, checkpoint_every=1000, seed=0)
    run = ganzoo.load(tmp_path / "run", registry=registry)
    samples = ganzoo.sample(run, 100, seed=1)
    assert run.step == 3 and samples.shape == (100, 2)
    scores = registry.dataset("ring8").evaluate(samples, 0)
    assert set(scores) == {"num_modes", "modes_covered", "modes_covered_strict", "high_quality", "kl_uniform"}
    assert 0.0 <= scores["high_quality"] <= 1.0
