"""cGAN: Mirza & Osindero 2014, "Conditional Generative Adversarial Nets", https://arxiv.org/abs/1411.1784.

The class label conditions both networks by concatenation: G sees ``[z, embed(y)]``, D sees the image with one more
channel, a learned per-class plane ``embed(y)`` of the image's size. The paper's MLPs are replaced by the DCGAN
networks (the issue asks for the paper's conditioning on DCGAN's layers; ``ganzoo_plugins.dcgan``), trained with
the non-saturating loss and DCGAN's optimiser settings as tuned for ``dcgan`` (see its docstring).
"""

from __future__ import annotations

import torch
from ganzoo_plugins.dcgan import IMAGE_SIZES, DCGANDiscriminator, DCGANGenerator, dcgan_defaults
from torch import nn

import ganzoo

EMBED_DIM = 32  # size of the label embedding concatenated to z


class CGANGenerator(ganzoo.Generator):
    """(z (B, z_dim), y (B,)) -> (B, C, S, S): DCGAN's generator on ``[z, embed(y)]``."""

    def __init__(self, z_dim: int = 100, data_shape: tuple[int, ...] = (1, 32, 32), num_classes: int = 10,
                 width: int | None = None, g_width: int | None = None, d_width: int | None = None,
                 output_bias: bool = False, embed_dim: int = EMBED_DIM) -> None:
        super().__init__(z_dim, data_shape, num_classes)
        self.embed = nn.Embedding(num_classes, embed_dim)  # N(0, 1) like z
        self.body = DCGANGenerator(z_dim + embed_dim, data_shape, width, g_width=g_width, output_bias=output_bias)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(torch.cat([z, self.embed(y)], dim=1))


class CGANDiscriminator(ganzoo.Discriminator):
    """(x (B, C, S, S), y (B,)) -> (B,) logits: DCGAN's discriminator on ``[x, plane(y)]``, C + 1 channels."""

    def __init__(self, data_shape: tuple[int, ...] = (1, 32, 32), num_classes: int = 10,
                 width: int | None = None, g_width: int | None = None, d_width: int | None = None,
                 output_bias: bool = False, embed_dim: int = EMBED_DIM) -> None:
        super().__init__(data_shape, num_classes)
        channels, size = self.data_shape[0], self.data_shape[1]
        self.plane = nn.Embedding(num_classes, size * size)  # (B,) -> (B, S*S), one learned image per class
        nn.init.normal_(self.plane.weight, 0.0, 0.02)
        self.body = DCGANDiscriminator((channels + 1, size, size), width, d_width=d_width)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        plane = self.plane(y).reshape(x.shape[0], 1, *x.shape[2:])  # (B, 1, S, S)
        return self.body(torch.cat([x, plane.to(x.dtype)], dim=1))


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    register(ganzoo.VariantSpec(
        name="cgan",
        summary="Class-conditional GAN: labels concatenated to z and to D's input, DCGAN networks (Mirza & "
                "Osindero 2014)",
        paper="https://arxiv.org/abs/1411.1784",
        generator=CGANGenerator,
        discriminator=CGANDiscriminator,
        loss="non_saturating",
        defaults=dcgan_defaults(),
        image_sizes=IMAGE_SIZES,
        channels=(1, 3),
        conditional=True,
    ))
