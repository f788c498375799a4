"""Regularisers as pure functions: penalties on D's loss and constraints on D's weights.

Nothing here steps an optimizer or calls ``backward``; the engine adds each penalty (times its value) to D's loss and
applies each constraint after D's optimizer step. The built-in ``regularisers`` plugin registers these under the
names variants and ``--reg`` use.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import ConfigError
from ganzoo.interfaces import PenaltyInputs, discriminate


def gradient_penalty(
    critic: nn.Module, real: Tensor, fake: Tensor, generator: torch.Generator | None = None,
    alpha: Tensor | None = None, labels: Tensor | None = None,
) -> Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017): E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates.

    ``x_hat = a * real + (1 - a) * fake`` with one ``a ~ U[0, 1]`` per sample (drawn here, or given as ``alpha`` of
    shape (B,)); the gradient is flattened per sample before the norm. A conditional critic scores the
    interpolates with ``labels`` (the real samples' classes). Returns the unscaled penalty; the engine multiplies by
    the variant's lambda.
    """
    alpha_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    if alpha is None:
        alpha = torch.rand(alpha_shape, generator=generator, device=real.device, dtype=real.dtype)
    else:
        alpha = alpha.to(device=real.device, dtype=real.dtype).reshape(alpha_shape)
    interpolates = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = discriminate(critic, interpolates, labels)
    (grads,) = torch.autograd.grad(scores.sum(), interpolates, create_graph=True)
    norms = grads.flatten(1).norm(2, dim=1)
    return (norms - 1.0).pow(2).mean()


def gradient_norm_penalty(critic: nn.Module, samples: Tensor, labels: Tensor | None = None) -> Tensor:
    """1/2 E[||grad_x D(x)||^2] at ``samples``: R1 on real data, R2 on generated data (Mescheder et al. 2018).

    The 1/2 makes the registered value the paper's gamma: the engine adds ``gamma * penalty``.
    """
    x = samples.detach().requires_grad_(True)
    (grads,) = torch.autograd.grad(discriminate(critic, x, labels).sum(), x, create_graph=True)
    return 0.5 * grads.flatten(1).pow(2).sum(1).mean()


def wgan_gp_penalty(inputs: PenaltyInputs) -> Tensor:
    """:func:`gradient_penalty` with one interpolation weight per sample from the engine's global-batch draw."""
    return gradient_penalty(inputs.discriminator, inputs.real, inputs.fake, alpha=inputs.uniform(),
                            labels=inputs.real_labels)


def r1_penalty(inputs: PenaltyInputs) -> Tensor:
    """R1: the gradient-norm penalty on real data."""
    return gradient_norm_penalty(inputs.discriminator, inputs.real, inputs.real_labels)


def r2_penalty(inputs: PenaltyInputs) -> Tensor:
    """R2: the gradient-norm penalty on generated data."""
    return gradient_norm_penalty(inputs.discriminator, inputs.fake, inputs.fake_labels)


def clip_weights_(network: nn.Module, bound: float) -> None:
    """Clip every parameter of ``network`` to [-bound, bound] in place (WGAN's Lipschitz constraint)."""
    with torch.no_grad():
        for p in network.parameters():
            p.clamp_(-bound, bound)


def _classifier(inputs: PenaltyInputs) -> Callable[[Tensor], Tensor]:
    """D's auxiliary classifier (an AC-GAN ``classify(x) -> (B, K)`` method), refused clearly when absent."""
    classify = getattr(inputs.discriminator, "classify", None)
    if not callable(classify):
        raise ConfigError("the auxiliary-classifier loss needs a discriminator with a classify(x) method (an "
                          "AC-GAN-style class head), such as acgan's")
    if inputs.real_labels is None or inputs.fake_labels is None:
        raise ConfigError("the auxiliary-classifier loss needs class labels: use it with a conditional variant")
    return classify


def auxiliary_classifier_d(inputs: PenaltyInputs) -> Tensor:
    """AC-GAN's class loss for D as the paper has it: cross-entropy on real samples plus on generated ones."""
    classify = _classifier(inputs)
    return (F.cross_entropy(classify(inputs.real).float(), inputs.real_labels)
            + F.cross_entropy(classify(inputs.fake).float(), inputs.fake_labels))


def auxiliary_classifier_real_d(inputs: PenaltyInputs) -> Tensor:
    """The class loss for D on real samples only (as later AC-GAN implementations train it)."""
    return F.cross_entropy(_classifier(inputs)(inputs.real).float(), inputs.real_labels)


def auxiliary_classifier_g(inputs: PenaltyInputs) -> Tensor:
    """AC-GAN's class loss for G: its samples should be classified as the class they were generated for."""
    return F.cross_entropy(_classifier(inputs)(inputs.fake).float(), inputs.fake_labels)
