"""GAN Lab's 2-D datasets (line, two-gaussians, ring, spiral, two-moons) and their scores."""

from __future__ import annotations

import math

import pytest
import torch

from ganzoo.data import DataRequest, load_dataset
from ganzoo.data.shapes import LINE, MOONS, RING, SPIRAL, TWO_GAUSSIANS, Curves2D, _arc
from ganzoo.errors import DataError, MetricError
from ganzoo.plugins import get_registry

SHAPES = {"line": LINE, "two-gaussians": TWO_GAUSSIANS, "ring": RING, "spiral": SPIRAL, "two-moons": MOONS}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_registered_as_points_with_an_evaluate_and_reproducible_splits(name):
    registry = get_registry()
    spec = registry.dataset(name)
    assert spec.kind == "points" and spec.evaluate is not None and spec.num_classes == SHAPES[name].num_modes
    test = load_dataset(registry, name, split="test", seed=0)
    assert test.data.shape == (10_000, 2) and test.data.dtype == torch.float32
    torch.testing.assert_close(load_dataset(registry, name, split="test", seed=0).data, test.data)
    assert not torch.equal(load_dataset(registry, name, split="test", seed=1).data, test.data)
    assert not torch.equal(load_dataset(registry, name, split="train", seed=0).data[:10_000], test.data)
    assert test.data.abs().max() < 3.0  # every shape fits the plane ring8 uses, give or take


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_real_data_covers_every_mode_evenly_with_high_quality(name):
    data = SHAPES[name].load(DataRequest(split="test", seed=0)).data
    scores = SHAPES[name].evaluate(data[:2500], 0)
    assert scores["modes_covered"] == scores["modes_covered_strict"] == scores["num_modes"]
    # the noise across a curve is 1-D (99.7% within 3 std); a 2-D Gaussian mode keeps 1 - exp(-4.5) = 98.9%
    assert scores["high_quality"] > 0.98
    assert scores["kl_uniform"] == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("name", ["line", "ring", "spiral", "two-moons"])
def test_samples_from_half_of_a_curve_cover_about_half_of_its_arcs(name):
    shape = SHAPES[name]
    data = shape.load(DataRequest(split="test", seed=0))
    half = data.data[data.labels < shape.num_modes // 2][:2500]
    scores = shape.evaluate(half, 0)
    assert scores["modes_covered_strict"] == shape.num_modes // 2
    # noise carries a few samples over the half's two ends: the lenient rule may count the arcs beyond them
    assert shape.num_modes // 2 <= scores["modes_covered"] <= shape.num_modes // 2 + 2
    assert scores["kl_uniform"] == pytest.approx(math.log(2), abs=0.05)


def test_a_point_on_a_curve_is_high_quality_and_one_off_it_is_not():
    ring = Curves2D.of(_arc(0.0, 0.0, 2.0, 0.0, 2 * math.pi), std=0.05, arcs=4)
    def at(degrees: float, radius: float) -> list[float]:
        return [radius * math.cos(math.radians(degrees)), radius * math.sin(math.radians(degrees))]

    on = torch.tensor([at(45, 2.0), at(135, 2.14), at(225, 1.9)])  # 0, 0.14 and 0.1 from the circle: within 3 std
    off = torch.tensor([[0.0, 0.0], at(315, 2.16)])  # 2 and 0.16 away
    assert ring.evaluate(on, 0)["high_quality"] == 1.0
    assert ring.evaluate(off, 0)["high_quality"] == 0.0
    assert ring.evaluate(torch.cat([on, off]), 0)["modes_covered"] == 3.0  # the fourth arc's sample is too far


def test_non_finite_samples_count_as_low_quality_and_bad_input_raises():
    x = torch.tensor([[2.0, 0.0], [float("nan"), 0.0]])
    assert RING.evaluate(x, 0)["high_quality"] == 0.5
    with pytest.raises(MetricError, match="shape"):
        RING.evaluate(torch.zeros(3, 3), 0)
    with pytest.raises(MetricError, match="no samples"):
        RING.evaluate(torch.zeros(0, 2), 0)
    with pytest.raises(DataError, match="split"):
        RING.load(DataRequest(split="validation"))
