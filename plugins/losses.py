"""The standard adversarial losses, registered by name so any variant can use any of them (``--loss``)."""

from __future__ import annotations

import ganzoo
from ganzoo import losses

LOSSES = [
    ganzoo.LossSpec("minimax", "Goodfellow et al. 2014 minimax: G minimises log(1 - D(G(z)))",
                    losses.minimax_d, losses.minimax_g),
    ganzoo.LossSpec("non_saturating", "Goodfellow et al. 2014 heuristic: G maximises log D(G(z))",
                    losses.minimax_d, losses.non_saturating_g),
    ganzoo.LossSpec("wasserstein", "Arjovsky et al. 2017: critic difference E[D(x)] - E[D(G(z))]",
                    losses.wasserstein_d, losses.wasserstein_g),
    ganzoo.LossSpec("hinge", "Lim & Ye 2017 hinge loss for D, -E[D(G(z))] for G",
                    losses.hinge_d, losses.wasserstein_g),
    ganzoo.LossSpec("least_squares", "Mao et al. 2017 least squares (a=0, b=1, c=1)",
                    losses.least_squares_d, losses.least_squares_g),
    ganzoo.LossSpec("rpgan", "Relativistic pairing (Jolicoeur-Martineau 2018; R3GAN's RpGAN): softplus of the "
                    "paired score difference", losses.relativistic_pairing_d, losses.relativistic_pairing_g,
                    g_uses_real=True),
]


@ganzoo.hookimpl
def ganzoo_register_losses(register):
    for spec in LOSSES:
        register(spec)
