"""WGAN-GP: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", https://arxiv.org/abs/1704.00028.

Weight clipping is replaced by a penalty on the critic's input gradient, lambda * E[(||grad D(x_hat)|| - 1)^2] on
random interpolates of real and fake samples (the registered ``gradient_penalty`` regulariser). The penalty is per
sample, so the critic must not mix samples: no batch norm. Following the paper's recommendation the critic uses layer
normalisation (``norm="layer"``, over each sample's (C, H, W)) as the drop-in replacement; ``norm="none"`` gives the
unnormalised critic of the reference DCGAN-style code. The generator is DCGAN's, batch norm included (the paper
keeps it); both networks take DCGAN's default width (32 channels up to 32 px, 64 above). Hyper-parameters are the
paper's Algorithm 1: lambda 10, 5 critic steps per generator step, Adam lr 1e-4 with betas (0.0, 0.9) (the
released code used beta1 0.5). On point data both networks are the vanilla GAN's MLPs, as in the paper's toy
experiments (its critic there has no normalisation either).
"""

from __future__ import annotations

import torch
from ganzoo_plugins.dcgan import IMAGE_SIZES, DCGANGenerator, _plan, default_width
from ganzoo_plugins.vanilla import MLPDiscriminator, MLPGenerator, image_or_points
from torch import nn

import ganzoo


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # one group = layer norm over (C, H, W), with a per-channel affine
    if kind == "none":
        return nn.Identity()
    raise ganzoo.ConfigError(f"WGAN-GP critic norm must be 'layer' or 'none', got {kind!r}")


class WGANGPCritic(ganzoo.Discriminator):
    """(B, C, S, S) -> (B,) critic values; DCGAN's layout with per-sample normalisation instead of batch norm."""

    def __init__(self, data_shape: tuple[int, ...] = (1, 32, 32), width: int | None = None,
                 norm: str = "layer", g_width: int | None = None, d_width: int | None = None,
                 output_bias: bool = False) -> None:
        super().__init__(data_shape)
        channels, size = self.data_shape[0], self.data_shape[1]
        base, n_down = _plan(size)
        hidden = d_width or width or default_width(size)
        layers: list[nn.Module] = [  # (B, C, S, S) -> (B, width, S/2, S/2); no normalisation on the input layer
            nn.Conv2d(channels, hidden, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for _ in range(n_down - 1):  # each halves the resolution and doubles the channels
            layers += [nn.Conv2d(hidden, hidden * 2, 4, 2, 1), _norm(norm, hidden * 2), nn.LeakyReLU(0.2, True)]
            hidden *= 2
        layers.append(nn.Conv2d(hidden, 1, base, 1, 0))  # (B, hidden, base, base) -> (B, 1, 1, 1)
        self.net = nn.Sequential(*layers)
        ganzoo.init_normal_(self, 0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


class WGANGPGenerator(DCGANGenerator):
    """DCGAN's generator; also takes the critic's ``norm`` option so ``create("wgan-gp", norm=...)`` builds both."""

    def __init__(self, z_dim: int = 100, data_shape: tuple[int, ...] = (1, 32, 32), width: int | None = None,
                 norm: str = "layer", g_width: int | None = None, d_width: int | None = None,
                 output_bias: bool = False) -> None:
        super().__init__(z_dim, data_shape, width, g_width=g_width, output_bias=output_bias)


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    adam = ganzoo.OptimizerSpec("adam", 1e-4, (0.0, 0.9))
    register(ganzoo.VariantSpec(
        name="wgan-gp",
        summary="Wasserstein GAN with gradient penalty, layer-norm critic (Gulrajani et al. 2017)",
        paper="https://arxiv.org/abs/1704.00028",
        generator=image_or_points(WGANGPGenerator, MLPGenerator),
        discriminator=image_or_points(WGANGPCritic, MLPDiscriminator),  # the MLP has no batch norm either
        loss="wasserstein",
        regularisers={"gradient_penalty": 10.0},
        defaults=ganzoo.TrainDefaults(
            steps=1600, point_steps=600, batch_size=64, z_dim=100, n_critic=5,
            g_optimizer=adam, d_optimizer=adam,
            ema_decay=0.999, network={"g_width": 64},
        ),
        image_sizes=IMAGE_SIZES,
        channels=(1, 3),
        data_kinds=("image", "points"),
    ))
