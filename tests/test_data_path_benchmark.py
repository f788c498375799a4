"""benchmarks/data_path.py: its padded MNIST keeps every stored pixel and registers beside the installed plugins."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.data.base import DataRequest
from ganzoo.data.vision import load_mnist

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import data_path  # noqa: E402


def test_padding_keeps_every_native_pixel_and_adds_black_borders() -> None:
    native = load_mnist(DataRequest(split="test", image_size=28)).data
    padded = data_path.load_mnist_padded(DataRequest(split="test", image_size=32))
    assert padded.data.shape == (len(native), 1, 32, 32)
    assert torch.equal(padded.data[:, :, 2:30, 2:30], native)
    border = padded.data.clone()
    border[:, :, 2:30, 2:30] = 0
    assert border.eq(0).all()
    assert torch.equal(padded.labels, load_mnist(DataRequest(split="test", image_size=28)).labels)


def test_smaller_than_the_digits_is_a_clear_error() -> None:
    with pytest.raises(ganzoo.ConfigError, match="cannot make 16x16"):
        data_path.load_mnist_padded(DataRequest(split="test", image_size=16))


def test_the_registry_holds_the_padded_dataset_beside_the_built_ins() -> None:
    registry = data_path.registry_with_padded_mnist()
    assert {"mnist", "mnist-pad"} <= set(registry.names("dataset"))
    assert "dcgan" in registry.names("variant")
