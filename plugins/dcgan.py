"""DCGAN: Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with Deep Convolutional Generative
Adversarial Networks", https://arxiv.org/abs/1511.06434.

Transposed convolutions up / strided convolutions down, batch norm everywhere except G's output and D's input,
ReLU in G, LeakyReLU(0.2) in D, weights from N(0, 0.02), Adam 2e-4 with betas (0.5, 0.999). Image sizes are
``base * 2**k`` with base 4 (32, 64, 128) or 7 (28); every stride-2 layer doubles / halves the resolution.

The paper gives widths only for 64x64 (1024 channels at 4x4, i.e. ngf = 128); ganzoo's default ``width`` is 64
from 64 px up (pytorch/examples' ngf = ndf = 64) and 32 below, which is plenty for 28-32 px digits and makes a
CPU training step about 2.5x cheaper.
"""

from __future__ import annotations

import torch
from torch import nn

import ganzoo

IMAGE_SIZES = (28, 32, 64, 128)


def default_width(image_size: int) -> int:
    """Channels of the widest-resolution hidden layer when the caller gives none."""
    return 32 if image_size <= 32 else 64


def _plan(image_size: int) -> tuple[int, int]:
    """(base resolution, number of stride-2 layers) for an image size."""
    for base in (4, 7):
        n, size = 0, base
        while size < image_size:
            size, n = size * 2, n + 1
        if size == image_size and n >= 2:
            return base, n
    raise ganzoo.ConfigError(f"DCGAN needs an image size of 4 or 7 times a power of two (32, 64), got {image_size}")


class DCGANGenerator(ganzoo.Generator):
    """z (B, z_dim) -> (B, C, S, S) in [-1, 1]; ``width`` is the channel count of the last hidden layer (ngf).

    Options (both networks accept all of them, so one set configures the pair): ``width`` for both networks,
    ``g_width`` / ``d_width`` for one of them, ``output_bias`` for a bias on G's output layer (the only layer of G
    not followed by batch norm, so the only one where a bias is not redundant).
    """

    def __init__(self, z_dim: int = 100, data_shape: tuple[int, ...] = (1, 32, 32), width: int | None = None,
                 g_width: int | None = None, d_width: int | None = None, output_bias: bool = False) -> None:
        super().__init__(z_dim, data_shape)
        channels, size = self.data_shape[0], self.data_shape[1]
        base, n_up = _plan(size)
        width = g_width or width or default_width(size)
        hidden = width * 2 ** (n_up - 1)
        layers: list[nn.Module] = [  # (B, z_dim, 1, 1) -> (B, hidden, base, base)
            nn.ConvTranspose2d(z_dim, hidden, base, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(True)]
        for _ in range(n_up - 1):  # each doubles the resolution and halves the channels
            layers += [nn.ConvTranspose2d(hidden, hidden // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(hidden // 2), nn.ReLU(True)]
            hidden //= 2
        layers += [nn.ConvTranspose2d(hidden, channels, 4, 2, 1, bias=output_bias), nn.Tanh()]  # (B, C, S, S)
        self.net = nn.Sequential(*layers)
        ganzoo.init_normal_(self, 0.02)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


class DCGANDiscriminator(ganzoo.Discriminator):
    """(B, C, S, S) -> one logit per sample (B,); ``width`` is the channel count of the first layer (ndf)."""

    def __init__(self, data_shape: tuple[int, ...] = (1, 32, 32), width: int | None = None,
                 g_width: int | None = None, d_width: int | None = None, output_bias: bool = False) -> None:
        super().__init__(data_shape)
        channels, size = self.data_shape[0], self.data_shape[1]
        base, n_down = _plan(size)
        width = d_width or width or default_width(size)
        hidden = width
        layers: list[nn.Module] = [  # no batch norm on the input layer
            nn.Conv2d(channels, hidden, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(n_down - 1):  # each halves the resolution and doubles the channels
            layers += [nn.Conv2d(hidden, hidden * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(hidden * 2), nn.LeakyReLU(0.2, True)]
            hidden *= 2
        layers.append(nn.Conv2d(hidden, 1, base, 1, 0, bias=False))  # (B, hidden, base, base) -> (B, 1, 1, 1)
        self.net = nn.Sequential(*layers)
        ganzoo.init_normal_(self, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def dcgan_defaults() -> ganzoo.TrainDefaults:
    """DCGAN's training defaults for a ten-minute CPU budget (shared by the variants built on its networks).

    Departures from the paper, each measured on MNIST 32x32 on a 2-core CPU (docs/variants.md has the figures):

    - Adam's learning rate is 5e-4 for G and 1e-4 for D, not 2e-4 for both (same betas). 5e-4 converges faster per
      step at this batch size; D at 5e-4 as well wins outright from step 3000 on (median D loss 0.01-0.04) and the
      FID stalls, while at 1e-4 D's loss stays near 0.7 and the FID falls to the end of the run (seed 0: 37.6
      against 45.0).
    - The generator is twice as wide as the discriminator (``g_width=64``): G's width bought quality, D's did not.
    - The EMA generator is what gets sampled. Its decay 0.9995 is capped by the warm-up ``(1+t)/(10+t)`` up to step
      17990, so over 8000 steps the warm-up sets the average (0.99888 at the end: roughly the last 900 steps).
    - Both learning rates fall linearly to 0 over the second half of the run (``lr_decay=0.5``).
    - 8000 steps of batch 64 fit ten minutes on this CPU with ``--amp auto`` (bf16 there: 5.3 min of steps on two
      threads); in float32 they take about 9.2 min.
    """
    return ganzoo.TrainDefaults(
        steps=8000, batch_size=64, z_dim=100, lr_decay=0.5,
        g_optimizer=ganzoo.OptimizerSpec("adam", 5e-4, (0.5, 0.999)),
        d_optimizer=ganzoo.OptimizerSpec("adam", 1e-4, (0.5, 0.999)),
        ema_decay=0.9995,
        network={"g_width": 64},
    )


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    register(ganzoo.VariantSpec(
        name="dcgan",
        summary="Deep convolutional GAN with batch norm (Radford et al. 2015)",
        paper="https://arxiv.org/abs/1511.06434",
        generator=DCGANGenerator,
        discriminator=DCGANDiscriminator,
        loss="non_saturating",
        defaults=dcgan_defaults(),
        image_sizes=IMAGE_SIZES,
        channels=(1, 3),
    ))
