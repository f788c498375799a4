"""A class-conditional variant: the same small networks, told which class to draw.

A conditional variant sets ``conditional=True`` in its spec. ganzoo then builds its networks with
``num_classes=K`` (from the dataset, which must have labels) and calls ``G(z, y)`` and ``D(x, y)`` with int64
labels of shape (B,). How the networks use the labels is up to them: here G adds a learned class embedding to z,
and D adds the inner product of a class embedding with its features (a projection discriminator).
"""

from __future__ import annotations

import torch
from ganzoo_example.nets import SmallDiscriminator, SmallGenerator
from torch import nn

import ganzoo


class ConditionalGenerator(ganzoo.Generator):
    def __init__(self, z_dim: int = 64, data_shape: tuple[int, ...] = (1, 28, 28), num_classes: int = 10,
                 width: int = 32) -> None:
        super().__init__(z_dim, data_shape, num_classes)
        self.embed = nn.Embedding(num_classes, z_dim)
        self.body = SmallGenerator(z_dim, data_shape, width)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(z + self.embed(y))


class ConditionalDiscriminator(ganzoo.Discriminator):
    def __init__(self, data_shape: tuple[int, ...] = (1, 28, 28), num_classes: int = 10, width: int = 32) -> None:
        super().__init__(data_shape, num_classes)
        self.body = SmallDiscriminator(data_shape, width)
        features = self.body.net[-1].in_features
        self.embed = nn.Embedding(num_classes, features)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body.net[:-1](x)  # (B, features): everything but the last linear layer
        return self.body.net[-1](h).squeeze(1) + (self.embed(y) * h).sum(dim=1)
