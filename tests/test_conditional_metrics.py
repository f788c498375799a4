"""Class accuracy, intra-FID and the Classification Accuracy Score on cases whose answers are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganzoo.errors import MetricError
from ganzoo.metrics import cas
from ganzoo.metrics.conditional import class_accuracy, intra_fid


def test_class_accuracy_counts_a_hand_made_confusion() -> None:
    requested = np.array([0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 1, 1, 1, 2, 0])
    logits = np.eye(3)[predicted]
    result = class_accuracy(logits, requested, 3)
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["per_class"] == pytest.approx([0.5, 1.0, 0.5])
    assert result["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    with pytest.raises(MetricError):
        class_accuracy(logits[:, :2], requested, 3)


def test_intra_fid_is_zero_for_identical_classes_and_sees_a_swapped_class() -> None:
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(3 * c, 1, size=(200, 4)) for c in range(2)])
    labels = np.repeat([0, 1], 200)
    same = intra_fid(features, labels, features, labels, 2, per_class=150)
    assert same["intra_fid"] == pytest.approx(0.0, abs=1e-6) and same["per_class_n"] == 150
    swapped = intra_fid(features, labels, features, 1 - labels, 2, per_class=150)
    # per class the means differ by 3 in each of 4 dimensions and the covariances agree: FID about 4 * 9, the same
    # for both classes (each compares the same two samples)
    assert swapped["per_class"][0] == pytest.approx(swapped["per_class"][1], rel=1e-9)
    assert swapped["intra_fid"] == pytest.approx(36.0, rel=0.05)
    with pytest.raises(MetricError, match="more than 4 samples per class"):
        intra_fid(features, labels, features, labels, 2, per_class=4)
    with pytest.raises(MetricError, match="fewer than 300"):
        intra_fid(features, labels, features, labels, 2, per_class=300)


def _stripes(n: int, seed: int) -> cas.LabelledImages:
    """Class 0: a bright left half; class 1: a bright right half (trivially learnable)."""
    rng = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    images = torch.randint(0, 60, (n, 1, 16, 16), generator=rng, dtype=torch.uint8)
    images[labels == 0, :, :, :8] += 180
    images[labels == 1, :, :, 8:] += 180
    return cas.LabelledImages(images, labels)


def test_cas_separates_right_labels_from_wrong_ones(monkeypatch) -> None:
    monkeypatch.setattr(cas, "CAS_STEPS", 30)
    train, test = _stripes(512, 0), _stripes(256, 1)
    wrong = cas.LabelledImages(train.images, 1 - train.labels)
    state = torch.get_rng_state()
    right_score = cas.train_and_test(train, test, 2)
    assert torch.equal(torch.get_rng_state(), state)  # its own generators only
    assert right_score > 0.95
    assert cas.train_and_test(wrong, test, 2) < 0.05
    assert cas.train_and_test(train, test, 2) == right_score  # fixed seed, fixed budget: reproducible
    scores = cas.classification_accuracy_scores(train, train, test, 2, small_per_class=64)
    assert scores["num_generated"] == 512 and scores["num_small_real"] == 128
    assert scores["steps"] == 30 and all(0.0 <= scores[k] <= 1.0 for k in ("cas", "real", "small_real"))


def test_cas_refuses_too_little_data() -> None:
    with pytest.raises(MetricError, match="at least"):
        cas.train_and_test(_stripes(16, 0), _stripes(16, 1), 2)
    with pytest.raises(MetricError, match="fewer than"):
        cas.balanced_subset(_stripes(16, 0), 20, 2)
