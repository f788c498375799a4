"""A small CNN trained on MNIST: 128-d penultimate features for a fast MNIST FID, and 10 logits for IS and mode
coverage.

The weights ship inside the package (``ganzoo/assets/mnist_classifier.safetensors``) and are produced by
``benchmarks/train_mnist_classifier.py``. Preprocessing, identical for real and generated images: uint8 -> float in
[0, 1]; RGB -> gray with ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B, not rounded); any size -> 28 x 28 (bilinear,
antialiased); then ``(x - 0.1307) / 0.3081``, the MNIST training mean and standard deviation.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import MetricError
from ganzoo.metrics.extractor import FeatureExtractor, Features

FEATURE_DIM = 128
NUM_CLASSES = 10
IMAGE_SIZE = 28
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
WEIGHTS_NAME = "mnist_classifier.safetensors"
_LUMA = (0.299, 0.587, 0.114)


def to_gray28(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(N, 1 or 3, H, W)`` -> float ``(N, 1, 28, 28)`` in [0, 1] (luma for RGB, antialiased bilinear)."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
        raise MetricError(f"mnist-classifier expects uint8 (N, 1 or 3, H, W) images, got {images.dtype} "
                          f"{tuple(images.shape)}")
    x = images.float().div_(255.0)
    if x.shape[1] == 3:
        weights = torch.tensor(_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        x = (x * weights).sum(1, keepdim=True)
    if x.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        x = F.interpolate(x, size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp_(0.0, 1.0)  # bilinear antialiasing can overshoot slightly


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    # pooling before BatchNorm and ReLU gives the same kind of block at a quarter of their memory traffic
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class MnistClassifier(FeatureExtractor):
    """Three conv blocks and a 128-wide fully connected layer; its ReLU activations are the features and the
    logits are a linear function of them (as Inception's pool features and logits are)."""

    feature_dim = FEATURE_DIM
    num_classes = NUM_CLASSES
    channels = (1, 3)

    def __init__(self, width: int = 32, dropout: float = 0.3) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv_block(1, width),  # (N, w, 14, 14)
            _conv_block(width, 2 * width),  # (N, 2w, 7, 7)
            _conv_block(2 * width, 4 * width),  # (N, 4w, 3, 3)
            nn.Flatten(),  # (N, 36w)
        )
        self.embed = nn.Sequential(nn.Linear(36 * width, FEATURE_DIM), nn.ReLU())  # (N, 128): the features
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)  # (N, 10)

    def forward_unit(self, x: torch.Tensor) -> Features:
        """Features and logits for float ``(N, 1, 28, 28)`` images in [0, 1] (the output of :func:`to_gray28`)."""
        features = self.embed(self.body((x - MNIST_MEAN) / MNIST_STD))
        return Features(features, self.head(self.dropout(features)))

    def forward(self, images: torch.Tensor) -> Features:
        """Features ``(N, 128)`` float32 and logits ``(N, 10)`` for uint8 images of any size, 1 or 3 channels."""
        device = next(self.parameters()).device
        return self.forward_unit(to_gray28(images.to(device)))  # move uint8, a quarter of the float bytes


def packaged_weights() -> Path:
    """Where the weights shipped with ganzoo live (``ganzoo/assets/mnist_classifier.safetensors``)."""
    return Path(str(importlib.resources.files("ganzoo") / "assets" / WEIGHTS_NAME))


def load_mnist_classifier(device: str | torch.device = "cpu", weights: str | Path | None = None) -> MnistClassifier:
    """The classifier with the packaged weights (or ``weights``), on ``device``, in eval mode.

    A missing, corrupt or mismatched weights file raises :class:`~ganzoo.errors.MetricError`.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(weights) if weights is not None else packaged_weights()
    if not path.is_file():
        raise MetricError(f"mnist-classifier weights not found at {path}; reinstall ganzoo or run "
                          "benchmarks/train_mnist_classifier.py")
    try:
        state = load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        raise MetricError(f"mnist-classifier weights {path} are corrupt ({_first_line(exc)})") from exc
    model = MnistClassifier()
    expected = model.state_dict()
    wrong = sorted(set(expected) ^ set(state)) + sorted(
        k for k in set(expected) & set(state) if expected[k].shape != state[k].shape)
    if wrong:
        raise MetricError(f"mnist-classifier weights {path} do not match the network (tensors {', '.join(wrong[:3])}"
                          f"{', ...' if len(wrong) > 3 else ''}); retrain with benchmarks/train_mnist_classifier.py")
    model.load_state_dict(state)
    return model.to(device).eval()


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
