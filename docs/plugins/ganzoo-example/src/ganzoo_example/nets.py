"""A small convolutional generator and discriminator for images whose side is a multiple of 4 (16, 28, 32)."""

from __future__ import annotations

import torch
from torch import nn

import ganzoo


def _quarter(size: int) -> int:
    if size % 4 or size < 8:
        raise ganzoo.ConfigError(f"example-rsgan needs an image size that is a multiple of 4, got {size}")
    return size // 4


class SmallGenerator(ganzoo.Generator):
    """z (B, z_dim) -> (B, C, S, S) in [-1, 1]: a dense layer to S/4, then two upsampling convolutions."""

    def __init__(self, z_dim: int = 64, data_shape: tuple[int, ...] = (1, 28, 28), width: int = 32) -> None:
        super().__init__(z_dim, data_shape)
        channels, self.q = self.data_shape[0], _quarter(self.data_shape[1])
        self.width = width
        self.project = nn.Sequential(  # (B, z_dim) -> (B, 2w * q * q)
            nn.Linear(z_dim, 2 * width * self.q * self.q), nn.BatchNorm1d(2 * width * self.q * self.q), nn.ReLU())
        self.net = nn.Sequential(
            nn.Upsample(scale_factor=2), nn.Conv2d(2 * width, width, 3, 1, 1),  # (B, w, S/2, S/2)
            nn.BatchNorm2d(width), nn.ReLU(),
            nn.Upsample(scale_factor=2), nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh(),  # (B, C, S, S)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(z.shape[0], 2 * self.width, self.q, self.q)  # (B, 2w, S/4, S/4)
        return self.net(h)


class SmallDiscriminator(ganzoo.Discriminator):
    """(B, C, S, S) -> (B,) raw scores: two stride-2 convolutions and a dense layer."""

    def __init__(self, data_shape: tuple[int, ...] = (1, 28, 28), width: int = 32) -> None:
        super().__init__(data_shape)
        channels, q = self.data_shape[0], _quarter(self.data_shape[1])
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, w, S/2, S/2)
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),  # (B, 2w, S/4, S/4)
            nn.Flatten(), nn.Linear(2 * width * q * q, 1),  # (B, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
