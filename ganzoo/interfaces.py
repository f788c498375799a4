"""The two networks every variant provides.

A generator maps noise ``z`` of shape ``(B, z_dim)`` to samples of shape ``(B, *data_shape)``; a discriminator
(or critic) maps samples to one unnormalised score per sample, shape ``(B,)``. Images are ``(C, H, W)`` with values
in ``[-1, 1]``; 2-D toy data is ``(2,)`` with unbounded values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn


class Generator(nn.Module, ABC):
    """Maps ``z ~ N(0, I)`` of shape ``(B, z_dim)`` to samples of shape ``(B, *data_shape)``."""

    def __init__(self, z_dim: int, data_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.z_dim = int(z_dim)
        self.data_shape = tuple(int(s) for s in data_shape)

    @abstractmethod
    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Return samples for noise ``z``; images lie in ``[-1, 1]``."""

    def sample_noise(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Draw ``n`` noise vectors on ``device`` (default: where this module's parameters live)."""
        if device is None:
            device = next(self.parameters()).device
        return torch.randn(n, self.z_dim, generator=generator, device=device)


class Discriminator(nn.Module, ABC):
    """Maps samples of shape ``(B, *data_shape)`` to one raw score (logit or critic value) each, shape ``(B,)``."""

    def __init__(self, data_shape: tuple[int, ...]) -> None:
        super().__init__()
        self.data_shape = tuple(int(s) for s in data_shape)

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return one raw score per sample, shape ``(B,)``."""


def init_normal_(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN initialisation: conv / linear weights from N(0, std), batch-norm scales from N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
