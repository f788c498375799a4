"""WGAN: Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN", https://arxiv.org/abs/1701.07875.

The critic is DCGAN's discriminator used as is: it already ends in a raw score (no sigmoid), which is exactly what
the Wasserstein critic needs. Lipschitz continuity is enforced crudely by clipping every critic parameter to
[-0.01, 0.01] after each critic step (the registered ``weight_clip`` regulariser). Training follows the paper's
Algorithm 1: RMSprop with lr 5e-5 (momentum-based optimizers were unstable), 5 critic steps per generator step,
batch 64.

Not reproduced: the reference code's schedule of 100 critic steps for the first 25 generator steps (and every
500th); the engine runs a fixed ``n_critic``.

On point data (the 2-D mixtures) both networks are the vanilla GAN's MLPs, clipped and trained the same way.
"""

from __future__ import annotations

from ganzoo_plugins.dcgan import IMAGE_SIZES, DCGANDiscriminator, DCGANGenerator
from ganzoo_plugins.vanilla import MLPDiscriminator, MLPGenerator, image_or_points

import ganzoo

WGANGenerator = DCGANGenerator
WGANCritic = DCGANDiscriminator  # (B, C, S, S) -> (B,) unbounded critic values


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    rmsprop = ganzoo.OptimizerSpec("rmsprop", 5e-5)
    register(ganzoo.VariantSpec(
        name="wgan",
        summary="Wasserstein GAN with weight clipping on a DCGAN critic (Arjovsky et al. 2017)",
        paper="https://arxiv.org/abs/1701.07875",
        generator=image_or_points(WGANGenerator, MLPGenerator),
        discriminator=image_or_points(WGANCritic, MLPDiscriminator),
        loss="wasserstein",
        regularisers={"weight_clip": 0.01},
        defaults=ganzoo.TrainDefaults(
            steps=2400, point_steps=1000, batch_size=64, z_dim=100, n_critic=5,
            g_optimizer=rmsprop, d_optimizer=rmsprop,
            ema_decay=0.999, network={"g_width": 64},
        ),
        image_sizes=IMAGE_SIZES,
        channels=(1, 3),
        data_kinds=("image", "points"),
    ))
