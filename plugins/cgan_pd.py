"""cGAN with a projection discriminator: Miyato & Koyama 2018, "cGANs with Projection Discriminator",
https://arxiv.org/abs/1802.05637.

D computes features phi(x) and scores ``psi(phi(x)) + <embed(y), phi(x)>``: the label enters as an inner product
with the features (the projection) instead of being concatenated to the input. Every layer of D, the class
embedding included, is spectrally normalised, and training uses the hinge loss, as in the paper. G conditions
through conditional batch normalisation: each batch norm's scale and shift are looked up per class. The paper's
ResNets are too slow for a CPU budget; the networks here keep DCGAN's layer plan (transposed convolutions up, strided
convolutions down), so the comparison with ``cgan`` and ``acgan`` is one of conditioning, not of capacity.
"""

from __future__ import annotations

import torch
from ganzoo_plugins.dcgan import IMAGE_SIZES, _plan, default_width
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

import ganzoo


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm without its own affine, followed by a per-class scale (initialised to 1) and shift (to 0)."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.scale(y)[:, :, None, None] + self.shift(y)[:, :, None, None]


class ProjectionGenerator(ganzoo.Generator):
    """(z, y) -> (B, C, S, S): DCGAN's transposed convolutions with conditional batch norm and ReLU."""

    def __init__(self, z_dim: int = 128, data_shape: tuple[int, ...] = (1, 32, 32), num_classes: int = 10,
                 width: int | None = None, g_width: int | None = None, d_width: int | None = None) -> None:
        super().__init__(z_dim, data_shape, num_classes)
        channels, size = self.data_shape[0], self.data_shape[1]
        base, n_up = _plan(size)
        hidden = (g_width or width or default_width(size)) * 2 ** (n_up - 1)
        self.convs = nn.ModuleList([nn.ConvTranspose2d(z_dim, hidden, base, 1, 0, bias=False)])  # (B, h, b, b)
        self.norms = nn.ModuleList([ConditionalBatchNorm2d(hidden, num_classes)])
        for _ in range(n_up - 1):  # each doubles the resolution and halves the channels
            self.convs.append(nn.ConvTranspose2d(hidden, hidden // 2, 4, 2, 1, bias=False))
            self.norms.append(ConditionalBatchNorm2d(hidden // 2, num_classes))
            hidden //= 2
        self.out = nn.ConvTranspose2d(hidden, channels, 4, 2, 1)  # (B, C, S, S)
        for conv in (*self.convs, self.out):
            nn.init.normal_(conv.weight, 0.0, 0.02)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        h = z.view(z.shape[0], self.z_dim, 1, 1)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = torch.relu(norm(conv(h), y))
        return torch.tanh(self.out(h))


class ProjectionDiscriminator(ganzoo.Discriminator):
    """(x, y) -> (B,): spectrally normalised strided convolutions, features summed over space, then
    ``psi(phi) + <embed(y), phi>``."""

    def __init__(self, data_shape: tuple[int, ...] = (1, 32, 32), num_classes: int = 10,
                 width: int | None = None, g_width: int | None = None, d_width: int | None = None) -> None:
        super().__init__(data_shape, num_classes)
        channels, size = self.data_shape[0], self.data_shape[1]
        _, n_down = _plan(size)
        hidden = d_width or width or default_width(size)
        layers: list[nn.Module] = [spectral_norm(nn.Conv2d(channels, hidden, 4, 2, 1)), nn.LeakyReLU(0.1, True)]
        for _ in range(n_down - 1):  # each halves the resolution and doubles the channels
            layers += [spectral_norm(nn.Conv2d(hidden, hidden * 2, 4, 2, 1)), nn.LeakyReLU(0.1, True)]
            hidden *= 2
        self.features = nn.Sequential(*layers)  # (B, hidden, base, base)
        self.psi = spectral_norm(nn.Linear(hidden, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, hidden))

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        phi = self.features(x).sum(dim=(2, 3))  # (B, hidden)
        return self.psi(phi).squeeze(1) + (self.embed(y) * phi).sum(dim=1)


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    adam = ganzoo.OptimizerSpec("adam", 2e-4, (0.0, 0.9))
    register(ganzoo.VariantSpec(
        name="cgan-pd",
        summary="Class-conditional GAN with a projection discriminator, spectral norm and conditional batch norm "
                "(Miyato & Koyama 2018)",
        paper="https://arxiv.org/abs/1802.05637",
        generator=ProjectionGenerator,
        discriminator=ProjectionDiscriminator,
        loss="hinge",
        defaults=ganzoo.TrainDefaults(steps=8000, batch_size=64, z_dim=128, n_critic=1, g_optimizer=adam,
                                      d_optimizer=adam, ema_decay=0.9995),
        image_sizes=IMAGE_SIZES,
        channels=(1, 3),
        conditional=True,
    ))
