"""The built-in regularisers, registered by name so any variant (or ``--reg NAME=VALUE``) can use any of them.

- ``gradient_penalty``: WGAN-GP's two-sided penalty on interpolates, value lambda (Gulrajani et al. 2017).
- ``weight_clip``: clip every D parameter to [-c, c] after each D step, value c (Arjovsky et al. 2017).
- ``r1`` / ``r2``: gamma/2 E||grad D||^2 on real / generated samples, value gamma (Mescheder et al. 2018; R2 as in
  Huang et al. 2024's R3GAN baseline, which uses both); ``r1_lazy`` / ``r2_lazy`` compute them on every 4th D step
  only, scaled by 4 (Karras et al. 2020's lazy regularisation: same expected penalty, a quarter of the double
  backward passes).
- ``auxiliary_classifier``: AC-GAN's class loss (Odena et al. 2017), value its weight: cross-entropy of D's class
  head on real and generated samples in D's loss, on generated ones in G's loss; ``auxiliary_classifier_real``
  trains D's head on real samples only. They need a discriminator with a ``classify(x)`` method.
"""

from __future__ import annotations

import ganzoo
from ganzoo import regularisers

REGULARISERS = [
    ganzoo.RegulariserSpec("gradient_penalty", "WGAN-GP: lambda * E[(||grad D(x_hat)|| - 1)^2] on real/fake "
                           "interpolates", penalty=regularisers.wgan_gp_penalty,
                           paper="https://arxiv.org/abs/1704.00028"),
    ganzoo.RegulariserSpec("weight_clip", "WGAN: clip every D parameter to [-c, c] after each D step",
                           after_step=regularisers.clip_weights_, paper="https://arxiv.org/abs/1701.07875"),
    ganzoo.RegulariserSpec("r1", "R1: gamma/2 * E||grad D(x)||^2 on real samples",
                           penalty=regularisers.r1_penalty, paper="https://arxiv.org/abs/1801.04406"),
    ganzoo.RegulariserSpec("r2", "R2: gamma/2 * E||grad D(G(z))||^2 on generated samples",
                           penalty=regularisers.r2_penalty, paper="https://arxiv.org/abs/1801.04406"),
    ganzoo.RegulariserSpec("r1_lazy", "R1 on every 4th D step, times 4 (lazy regularisation)",
                           penalty=regularisers.r1_penalty, every=4, paper="https://arxiv.org/abs/1912.04958"),
    ganzoo.RegulariserSpec("r2_lazy", "R2 on every 4th D step, times 4 (lazy regularisation)",
                           penalty=regularisers.r2_penalty, every=4, paper="https://arxiv.org/abs/1912.04958"),
    ganzoo.RegulariserSpec("auxiliary_classifier", "AC-GAN class loss: D's class head on real and generated "
                           "samples, G's samples classified as their label",
                           penalty=regularisers.auxiliary_classifier_d, g_penalty=regularisers.auxiliary_classifier_g, paper="https://arxiv.org/abs/1610.09585"),
    ganzoo.RegulariserSpec("auxiliary_classifier_real", "AC-GAN class loss with D's class head trained on real "
                           "samples only", penalty=regularisers.auxiliary_classifier_real_d,
                           g_penalty=regularisers.auxiliary_classifier_g, paper="https://arxiv.org/abs/1610.09585"),
]


@ganzoo.hookimpl
def ganzoo_register_regularisers(register):
    for spec in REGULARISERS:
        register(spec)
