"""cGAN: Mirza & Osindero 2014, "Conditional Generative Adversarial Nets", https://arxiv.org/abs/1411.1784.

The class label conditions both networks by concatenation, as a one-hot vector as in the paper: G sees
``[z, onehot(y)]``, D sees the image with K more channels, the one-hot vector broadcast over the image (one constant
plane per class, the usual convolutional form of the paper's input concatenation). The paper's MLPs are replaced by
the DCGAN networks (``ganzoo_plugins.dcgan``), trained with the non-saturating loss and DCGAN's optimiser settings
as tuned for ``dcgan`` (see its docstring).

An earlier version gave D a single learned plane per class, initialised at N(0, 0.02) like DCGAN's weights, and G
a learned 32-d embedding: on MNIST (seed 0, bf16) it collapsed to one image per class by step 500 (mean
within-class pixel standard deviation 0.04 for G, 0.05 for its EMA; the data's is 0.28). Either one-hot side alone
avoided that at step 600 (0.24 each, EMA), both together gave 0.26: docs/benchmarks.md, "Conditional variants".
K planes make D's first layer K channels wider, which is nothing for 10 classes and a poor fit for hundreds;
projection (``cgan-pd``) scales to those.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from ganzoo_plugins.dcgan import IMAGE_SIZES, DCGANDiscriminator, DCGANGenerator, dcgan_defaults

import ganzoo


def one_hot(y: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """(B,) int64 labels -> (B, K) one-hot rows in ``like``'s dtype and device."""
    return F.one_hot(y, num_classes).to(like.dtype)


class CGANGenerator(ganzoo.Generator):
    """(z (B, z_dim), y (B,)) -> (B, C, S, S): DCGAN's generator on ``[z, onehot(y)]``."""

    def __init__(self, z_dim: int = 100, data_shape: tuple[int, ...] = (1, 32, 32), num_classes: int = 10,
                 width: int | None = None, g_width: int | None = None, d_width: int | None = None,
                 output_bias: bool = False) -> None:
        super().__init__(z_dim, data_shape, num_classes)
        self.body = DCGANGenerator(z_dim + num_classes, data_shape, width, g_width=g_width, output_bias=output_bias)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.body(torch.cat([z, one_hot(y, self.num_classes, z)], dim=1))


class CGANDiscriminator(ganzoo.Discriminator):
    """(x (B, C, S, S), y (B,)) -> (B,) logits: DCGAN's discriminator on ``[x, onehot(y) as planes]``, C + K
    channels."""

    def __init__(self, data_shape: tuple[int, ...] = (1, 32, 32), num_classes: int = 10,
                 width: int | None = None, g_width: int | None = None, d_width: int | None = None,
                 output_bias: bool = False) -> None:
        super().__init__(data_shape, num_classes)
        channels, size = self.data_shape[0], self.data_shape[1]
        self.body = DCGANDiscriminator((channels + num_classes, size, size), width, d_width=d_width)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        planes = one_hot(y, self.num_classes, x)[:, :, None, None].expand(-1, -1, *x.shape[2:])  # (B, K, S, S)
        return self.body(torch.cat([x, planes], dim=1))


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    register(ganzoo.VariantSpec(
        name="cgan",
        summary="Class-conditional GAN: one-hot labels concatenated to z and to D's input, DCGAN networks (Mirza & "
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
