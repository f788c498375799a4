"""The original GAN: Goodfellow et al. 2014, "Generative Adversarial Nets", https://arxiv.org/abs/1406.2661.

Fully connected generator and discriminator. Loss: the paper's non-saturating generator objective (G maximises
log D(G(z))), which the paper itself trains with "in practice" because the minimax objective log(1 - D(G(z)))
saturates early; ``--loss minimax`` gives the latter. Works on images of any registered size and on 2-D point data.

Image budget (ganzoo's choices; the paper used maxout networks and SGD with momentum): hidden widths 128, 256, 512,
Adam 2e-4 (0.5, 0.999), EMA 0.999, 30000 steps of batch 64. Measured on MNIST 32x32 (seed 0, one thread on the 2-core
EPYC, tracked MNIST-classifier FID against the training split): the minimax loss does not learn (FID 773 at 3000
steps, one blob), the non-saturating one does (489 at 3000 steps with widths 256-1024, 262 at 12000 with 128-512);
widths 128-512 cost 2.3x less per step than 256-1024 for about the same FID per second, and fit the 5 MB weights
budget. Point data keeps 3000 steps.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

import ganzoo

DEFAULT_IMAGE_WIDTH = 128


def _widths(data_shape: tuple[int, ...], width: int | None) -> tuple[int, ...]:
    # point data (the 8-Gaussian ring of Metz et al.) needs far smaller nets than images
    if len(data_shape) == 1:
        if width is not None:
            raise ValueError("width applies to the image networks only")
        return (128, 128)
    width = width or DEFAULT_IMAGE_WIDTH
    return (width, 2 * width, 4 * width)


class MLPGenerator(ganzoo.Generator):
    """z (B, z_dim) -> hidden ReLU layers -> (B, *data_shape); tanh output for images, linear for points.

    For images the hidden layers are ``width``, 2 ``width`` and 4 ``width`` wide (D mirrors them).
    """

    def __init__(self, z_dim: int = 100, data_shape: tuple[int, ...] = (1, 28, 28), width: int | None = None) -> None:
        super().__init__(z_dim, data_shape)
        layers: list[nn.Module] = []
        width_in = z_dim
        for hidden in _widths(self.data_shape, width):
            layers += [nn.Linear(width_in, hidden), nn.ReLU(inplace=True)]
            width_in = hidden
        layers.append(nn.Linear(width_in, math.prod(self.data_shape)))
        if len(self.data_shape) == 3:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.data_shape)


class MLPDiscriminator(ganzoo.Discriminator):
    """(B, *data_shape) -> hidden LeakyReLU(0.2) layers -> one logit per sample (B,)."""

    def __init__(self, data_shape: tuple[int, ...] = (1, 28, 28), width: int | None = None) -> None:
        super().__init__(data_shape)
        layers: list[nn.Module] = []
        width_in = math.prod(self.data_shape)
        for hidden in reversed(_widths(self.data_shape, width)):
            layers += [nn.Linear(width_in, hidden), nn.LeakyReLU(0.2, inplace=True)]
            width_in = hidden
        layers.append(nn.Linear(width_in, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).squeeze(1)


Net = TypeVar("Net", ganzoo.Generator, ganzoo.Discriminator)


def image_or_points(image: Callable[..., Net], points: Callable[..., Net]) -> Callable[..., Net]:
    """A network builder that calls ``points`` for point data (``data_shape`` ``(D,)``) and ``image`` otherwise.

    Lets an image variant also train on the 2-D mixtures with small MLPs, as the WGAN-GP and unrolled-GAN papers'
    toy experiments do; options such as ``width`` belong to the image networks and are refused for points.
    """
    def build(*, data_shape: tuple[int, ...], **options: Any) -> Net:
        return (points if len(data_shape) == 1 else image)(data_shape=data_shape, **options)

    build.__doc__ = f"{image.__name__} for images, {points.__name__} for point data."
    build.__signature__ = inspect.signature(image)  # the network options a user can set are the image network's
    build.__name__ = build.__qualname__ = f"{image.__name__}|{points.__name__}"
    return build


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    register(ganzoo.VariantSpec(
        name="gan",
        summary="Original MLP GAN, non-saturating loss (Goodfellow et al. 2014)",
        paper="https://arxiv.org/abs/1406.2661",
        generator=MLPGenerator,
        discriminator=MLPDiscriminator,
        loss="non_saturating",
        defaults=ganzoo.TrainDefaults(steps=30000, point_steps=3000, batch_size=64, z_dim=100, ema_decay=0.999),
        image_sizes=(28, 32, 64),
        channels=(1, 3),
        data_kinds=("image", "points"),
    ))
