"""LSGAN: Mao et al. 2017, "Least Squares Generative Adversarial Networks", https://arxiv.org/abs/1611.04076.

The discriminator's sigmoid cross-entropy is replaced by a least-squares loss with the 0-1 coding (a=0 for fake,
b=1 for real, c=1 for what G wants D to say, one of the paper's two settings), which penalises samples that lie far
on the correct side of the decision boundary and so keeps G's gradients alive where the sigmoid would saturate.
The networks are DCGAN's (the paper's own architectures are DCGAN-style too), trained with DCGAN's Adam setting,
lr 2e-4 and beta1 0.5, which the paper follows for beta1. On point data (the 2-D mixtures, as in the paper's own
Gaussian-mixture experiment) both networks are the vanilla GAN's MLPs.
"""

from __future__ import annotations

from ganzoo_plugins.dcgan import IMAGE_SIZES, DCGANDiscriminator, DCGANGenerator
from ganzoo_plugins.vanilla import MLPDiscriminator, MLPGenerator, image_or_points

import ganzoo


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    adam = ganzoo.OptimizerSpec("adam", 2e-4, (0.5, 0.999))
    register(ganzoo.VariantSpec(
        name="lsgan",
        summary="Least-squares GAN on the DCGAN networks (Mao et al. 2017)",
        paper="https://arxiv.org/abs/1611.04076",
        generator=image_or_points(DCGANGenerator, MLPGenerator),
        # DCGAN's raw output is the least-squares score, no sigmoid
        discriminator=image_or_points(DCGANDiscriminator, MLPDiscriminator),
        loss="least_squares",
        defaults=ganzoo.TrainDefaults(
            steps=8000, point_steps=1000, batch_size=64, z_dim=100, n_critic=1,
            g_optimizer=adam, d_optimizer=adam,
            ema_decay=0.9995, network={"g_width": 64},  # dcgan's budget: see ganzoo_plugins.dcgan
        ),
        image_sizes=IMAGE_SIZES,
        channels=(1, 3),
        data_kinds=("image", "points"),
    ))
