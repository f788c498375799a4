"""RpGAN + R1 + R2: the loss and regularisation of Huang, Gokaslan, Kuleshov & Tompkin 2024, "The GAN is dead;
long live the GAN! A Modern Baseline GAN" (R3GAN), https://arxiv.org/abs/2501.05441, on small DCGAN-style networks.

The recipe: the relativistic pairing loss (``rpgan``: softplus of D(fake) - D(real) for D, the reverse for G,
on paired samples), zero-centred gradient penalties on real (R1) and generated (R2) samples, Adam with beta1 = 0,
and no normalisation in D (the penalties are per sample). R3GAN's own networks are modernised ResNets sized for
GPU budgets; on a CPU budget this variant keeps the recipe and uses DCGAN's generator (``g_width`` 64, as in
ganzoo's dcgan) and WGAN-GP's critic layout without normalisation (``norm="none"``). What ganzoo chose, where
the paper leaves room for a network this small: gamma = 0.1 for both penalties (the paper's small-image range),
computed lazily on every 4th D step (``r1_lazy`` / ``r2_lazy``), which makes a step cost about what a dcgan step
costs; Adam with betas (0, 0.99) for both networks, at a constant 1.6e-3 (ganzoo's first choice was 2e-4; on
MNIST 32x32, seed 0, 6000 steps, the tracked MNIST-classifier FID ends at 38.9 at 2e-4, 26.9 at 4e-4, 17.6 at
8e-4 and 11.3 at 1.6e-3, and Inception FID against the test split at 26.11, 16.07, 13.62 and 13.99; decaying the
rate over the second half made it worse; docs/variants.md); an EMA generator with decay 0.9995. One departure
from the paper's networks beyond their size: G ends in DCGAN's tanh (the ``ganzoo.Generator`` contract: images in
[-1, 1]), where R3GAN's ends linear. Trained with a linear output (commit 1598f0d), half of the background pixels
missed black and the Inception FID rose from 13.99 / 13.64 to 54.95 / 39.93 (seeds 0 / 1; docs/variants.md).

This is the zoo's modern recipe: it touches no engine file, only registered parts (a loss, two regularisers, two
network builders). docs/benchmarks.md compares it with dcgan per minute of training.
"""

from __future__ import annotations

from ganzoo_plugins.dcgan import IMAGE_SIZES
from ganzoo_plugins.vanilla import MLPDiscriminator, MLPGenerator, image_or_points
from ganzoo_plugins.wgan_gp import WGANGPCritic, WGANGPGenerator

import ganzoo


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    adam = ganzoo.OptimizerSpec("adam", 1.6e-3, (0.0, 0.99))
    register(ganzoo.VariantSpec(
        name="rpgan",
        summary="Relativistic pairing loss with R1 + R2 penalties, R3GAN's recipe on small conv nets "
                "(Huang et al. 2024)",
        paper="https://arxiv.org/abs/2501.05441",
        generator=image_or_points(WGANGPGenerator, MLPGenerator),
        discriminator=image_or_points(WGANGPCritic, MLPDiscriminator),
        loss="rpgan",
        regularisers={"r1_lazy": 0.1, "r2_lazy": 0.1},
        defaults=ganzoo.TrainDefaults(
            steps=6000, point_steps=2000, batch_size=64, z_dim=100,
            g_optimizer=adam, d_optimizer=adam,
            ema_decay=0.9995,
            network={"g_width": 64, "norm": "none"},
        ),
        image_sizes=IMAGE_SIZES,
        channels=(1, 3),
        data_kinds=("image", "points"),
    ))
