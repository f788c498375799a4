"""Adversarial losses as pure functions of discriminator scores, and the gradient penalty.

Every function takes raw scores (logits for the classifying losses, critic values for the others) of shape ``(B,)``
and returns a scalar to be *minimised*. Nothing here calls ``backward`` or steps an optimizer; the engine does.
The built-in ``losses`` plugin registers these under the names users pass to ``--loss``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


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


def gradient_penalty(
    critic: torch.nn.Module, real: Tensor, fake: Tensor, generator: torch.Generator | None = None,
    alpha: Tensor | None = None,
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates.

    ``x_hat = a * real + (1 - a) * fake`` with one ``a ~ U[0, 1]`` per sample (drawn here, or given as ``alpha`` of
    shape (B,)); the gradient is flattened per sample before the norm. Returns the unscaled penalty; the engine
    multiplies by the variant's lambda.
    """
    alpha_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    if alpha is None:
        alpha = torch.rand(alpha_shape, generator=generator, device=real.device, dtype=real.dtype)
    else:
        alpha = alpha.to(device=real.device, dtype=real.dtype).reshape(alpha_shape)
    interpolates = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = critic(interpolates)
    (grads,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    norms = grads.flatten(1).norm(2, dim=1)
    return (norms - 1.0).pow(2).mean()
