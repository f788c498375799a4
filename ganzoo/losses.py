"""Adversarial losses as pure functions of discriminator scores.

Every function takes raw scores (logits for the classifying losses, critic values for the others) of shape ``(B,)``
and returns a scalar to be *minimised*. Nothing here calls ``backward`` or steps an optimizer; the engine does.
The built-in ``losses`` plugin registers these under the names users pass to ``--loss``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.regularisers import gradient_penalty  # noqa: F401  where it lived before regularisers were components


# Minimax (Goodfellow et al. 2014): D maximises log D(x) + log(1 - D(G(z))).
def minimax_d(real: Tensor, fake: Tensor) -> Tensor:
    """-[log sigmoid(real) + log(1 - sigmoid(fake))], averaged: binary cross-entropy with labels 1 / 0."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def minimax_g(fake: Tensor, real: Tensor | None = None) -> Tensor:
    """log(1 - sigmoid(fake)), averaged: G minimises the same value D maximises (saturates early in training)."""
    return -F.softplus(fake).mean()


def non_saturating_g(fake: Tensor, real: Tensor | None = None) -> Tensor:
    """-log sigmoid(fake), averaged: the heuristic G loss of Goodfellow et al. with strong early gradients."""
    return F.softplus(-fake).mean()


# Wasserstein (Arjovsky et al. 2017): the critic maximises E[D(x)] - E[D(G(z))].
def wasserstein_d(real: Tensor, fake: Tensor) -> Tensor:
    """E[D(G(z))] - E[D(x)]."""
    return fake.mean() - real.mean()


def wasserstein_g(fake: Tensor, real: Tensor | None = None) -> Tensor:
    """-E[D(G(z))]."""
    return -fake.mean()


# Hinge (Lim & Ye 2017; Miyato et al. 2018).
def hinge_d(real: Tensor, fake: Tensor) -> Tensor:
    """E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]."""
    return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()


# Least squares (Mao et al. 2017), with the a=0, b=1, c=1 coding.
def least_squares_d(real: Tensor, fake: Tensor) -> Tensor:
    """1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]."""
    return 0.5 * (real - 1.0).pow(2).mean() + 0.5 * fake.pow(2).mean()


def least_squares_g(fake: Tensor, real: Tensor | None = None) -> Tensor:
    """1/2 E[(D(G(z)) - 1)^2]."""
    return 0.5 * (fake - 1.0).pow(2).mean()


# Relativistic pairing (Jolicoeur-Martineau 2018; the RpGAN of Huang et al. 2024's R3GAN): each real score is
# compared with the generated score at the same batch position.
def relativistic_pairing_d(real: Tensor, fake: Tensor) -> Tensor:
    """E[softplus(-(D(x_i) - D(G(z_i))))]: D wants every real sample to score above its paired fake one."""
    return F.softplus(fake - real).mean()


def relativistic_pairing_g(fake: Tensor, real: Tensor | None = None) -> Tensor:
    """E[softplus(-(D(G(z_i)) - D(x_i)))]: G wants its samples to score above the real ones they are paired with."""
    if real is None:
        raise ValueError("the relativistic pairing G loss needs D's scores on real data")
    return F.softplus(real - fake).mean()
