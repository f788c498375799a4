"""The interface every feature extractor implements (registered through ``ganzoo_register_extractors``)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import NamedTuple

import torch
from torch import nn


class Features(NamedTuple):
    """What an extractor returns for a batch: float features ``(N, feature_dim)`` and, if it classifies,
    logits ``(N, num_classes)`` (else None)."""

    features: torch.Tensor
    logits: torch.Tensor | None


class FeatureExtractor(nn.Module, ABC):
    """Maps uint8 images ``(N, C, H, W)`` in [0, 255] to :class:`Features`.

    Both real and generated images arrive as uint8 (generated ones are quantised exactly as an image file would
    store them), so both go through identical preprocessing inside the extractor. Extractors run in eval mode
    under ``torch.inference_mode``; ``channels`` lists the input channel counts accepted (1 is repeated to 3 by
    extractors that need RGB).
    """

    feature_dim: int
    num_classes: int = 0

    @abstractmethod
    def forward(self, images: torch.Tensor) -> Features:
        """Features (and logits) for a uint8 batch."""
