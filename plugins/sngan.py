"""SN-GAN: Miyato, Kataoka, Koyama & Yoshida 2018, "Spectral Normalization for Generative Adversarial Networks",
https://arxiv.org/abs/1802.05957.

Every critic layer's weight is divided by its largest singular value (estimated by one power iteration per forward
pass, ``torch.nn.utils.parametrizations.spectral_norm``), making each layer, and so the critic, 1-Lipschitz without
any penalty term. The networks are the paper's "standard CNN" (its Table 3): a DCGAN-like generator from a dense
layer at (S/8)x(S/8), and a critic of alternating 3x3 / 4x4-stride-2 convolutions with LeakyReLU(0.1). Loss: hinge.
Optimisation is the paper's setting C (Table 1): Adam lr 2e-4, betas (0.5, 0.999), one critic step per generator
step, the cheapest of its settings and among its best for this network. The paper's ResNet networks are not
provided here. On point data (the 2-D mixtures) both networks are the vanilla GAN's MLPs, the critic's
linear layers spectrally normalised.

Width: the paper's channel counts (64 .. 512) are ``width=64``, the default from 48 px up. Below that, as for
ganzoo's DCGAN, the default is ``width=32`` (32 .. 256 channels): ample for 32 px digits and about four times
cheaper per step on a CPU; ``ganzoo.create("sngan", width=64)`` builds the paper's exact 32 px networks.

Budget: 3000 steps, EMA 0.999 (ganzoo's choices; the paper trains 100k steps). At the first budget, 1500 steps,
the tracked MNIST-classifier FID was still falling steeply (67 at step 1500, 34.5 at 3000, 22.4 at 5000; seed 0,
bf16, docs/benchmarks.md); 3000 steps cost about 8.5 min on the 2-core EPYC (0.17 s per step in bf16), the
slower of the two machines measured.
"""

from __future__ import annotations

import torch
from ganzoo_plugins.vanilla import MLPDiscriminator, MLPGenerator, image_or_points
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

import ganzoo

IMAGE_SIZES = (32, 48, 64)  # 8 * base: 32 for CIFAR-10 and MNIST padded, 48 for STL-10


def default_width(image_size: int) -> int:
    """Channels of the full-resolution layers when the caller gives none (the paper's 64 from 48 px up)."""
    return 32 if image_size <= 32 else 64


def _base(image_size: int) -> int:
    if image_size % 8 or image_size < 16:
        raise ganzoo.ConfigError(f"SN-GAN needs an image size divisible by 8 (e.g. 32, 48), got {image_size}")
    return image_size // 8


class SNGANGenerator(ganzoo.Generator):
    """z (B, z_dim) -> (B, C, S, S) in [-1, 1]; ``width`` is the channel count of the last hidden layer."""

    def __init__(self, z_dim: int = 128, data_shape: tuple[int, ...] = (3, 32, 32), width: int | None = None) -> None:
        super().__init__(z_dim, data_shape)
        channels, base = self.data_shape[0], _base(self.data_shape[1])
        width = width or default_width(self.data_shape[1])
        self.base, self.top = base, width * 8
        self.project = nn.Sequential(  # (B, z_dim) -> (B, 8w * base * base), reshaped to (B, 8w, base, base)
            nn.Linear(z_dim, self.top * base * base), nn.BatchNorm1d(self.top * base * base), nn.ReLU(True))

        def up(c_in: int, c_out: int) -> list[nn.Module]:  # doubles the resolution
            return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.ReLU(True)]

        self.net = nn.Sequential(
            *up(width * 8, width * 4),  # (B, 4w, 2b, 2b)
            *up(width * 4, width * 2),  # (B, 2w, 4b, 4b)
            *up(width * 2, width),  # (B, w, S, S)
            nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh(),  # (B, C, S, S)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.project(z).view(z.shape[0], self.top, self.base, self.base)
        return self.net(h)


class SNGANDiscriminator(ganzoo.Discriminator):
    """(B, C, S, S) -> (B,) scores; every conv and the final dense layer are spectrally normalised."""

    def __init__(self, data_shape: tuple[int, ...] = (3, 32, 32), width: int | None = None) -> None:
        super().__init__(data_shape)
        channels, base = self.data_shape[0], _base(self.data_shape[1])
        width = width or default_width(self.data_shape[1])

        def conv(c_in: int, c_out: int, kernel: int, stride: int) -> list[nn.Module]:
            return [spectral_norm(nn.Conv2d(c_in, c_out, kernel, stride, 1)), nn.LeakyReLU(0.1, True)]

        self.net = nn.Sequential(
            *conv(channels, width, 3, 1), *conv(width, width, 4, 2),  # (B, w, S/2, S/2)
            *conv(width, width * 2, 3, 1), *conv(width * 2, width * 2, 4, 2),  # (B, 2w, S/4, S/4)
            *conv(width * 2, width * 4, 3, 1), *conv(width * 4, width * 4, 4, 2),  # (B, 4w, b, b)
            *conv(width * 4, width * 8, 3, 1),  # (B, 8w, b, b)
        )
        self.head = spectral_norm(nn.Linear(width * 8 * base * base, 1))  # (B, 8w * b * b) -> (B, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(x).flatten(1)).squeeze(1)


class SNMLPDiscriminator(MLPDiscriminator):
    """The vanilla GAN's MLP critic for point data with every linear layer spectrally normalised."""

    def __init__(self, data_shape: tuple[int, ...] = (2,)) -> None:
        super().__init__(data_shape)
        for index, layer in enumerate(self.net):
            if isinstance(layer, nn.Linear):
                self.net[index] = spectral_norm(layer)


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    adam = ganzoo.OptimizerSpec("adam", 2e-4, (0.5, 0.999))
    register(ganzoo.VariantSpec(
        name="sngan",
        summary="Spectrally normalised critic, hinge loss, standard CNN (Miyato et al. 2018)",
        paper="https://arxiv.org/abs/1802.05957",
        generator=image_or_points(SNGANGenerator, MLPGenerator),
        discriminator=image_or_points(SNGANDiscriminator, SNMLPDiscriminator),
        loss="hinge",
        defaults=ganzoo.TrainDefaults(
            steps=3000, point_steps=800, batch_size=64, z_dim=128, n_critic=1,
            g_optimizer=adam, d_optimizer=adam,
            ema_decay=0.999,
        ),
        image_sizes=IMAGE_SIZES,
        channels=(1, 3),
        data_kinds=("image", "points"),
    ))
