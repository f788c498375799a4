"""The interfaces of ganzoo's core: the two networks every variant provides, and the losses and regularisers that
train them.

A generator maps noise ``z`` of shape ``(B, z_dim)`` to samples of shape ``(B, *data_shape)``; a discriminator
(or critic) maps samples to one unnormalised score per sample, shape ``(B,)``. Images are ``(C, H, W)`` with values
in ``[-1, 1]``; 2-D toy data is ``(2,)`` with unbounded values.

A :class:`Loss` is a pair of pure functions of D's scores; a :class:`Regulariser` is a term or constraint the engine
applies beside the loss at the points it declares (a penalty added to D's loss, a constraint applied to D's weights
after its optimizer step, an augmentation of everything D sees). Neither calls ``backward`` nor steps an optimizer:
only the engine does. The registered specs (:class:`ganzoo.LossSpec`, :class:`ganzoo.RegulariserSpec`) implement
them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import nn


class Generator(nn.Module, ABC):
    """Maps ``z ~ N(0, I)`` of shape ``(B, z_dim)`` to samples of shape ``(B, *data_shape)``.

    A class-conditional generator (``num_classes > 0``) also takes integer labels ``y``, int64 ``(B,)`` in
    ``[0, num_classes)``: ``G(z, y)``. How it uses them (an embedding, conditional batch norm, ...) is its own
    business. An unconditional one is called as ``G(z)``.
    """

    def __init__(self, z_dim: int, data_shape: tuple[int, ...], num_classes: int = 0) -> None:
        super().__init__()
        self.z_dim = int(z_dim)
        self.data_shape = tuple(int(s) for s in data_shape)
        self.num_classes = int(num_classes)

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @abstractmethod
    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Return samples for noise ``z`` (and labels ``y`` when conditional); images lie in ``[-1, 1]``."""

    def sample_noise(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Draw ``n`` noise vectors on ``device`` (default: where this module's parameters live)."""
        if device is None:
            device = next(self.parameters()).device
        return torch.randn(n, self.z_dim, generator=generator, device=device)


class Discriminator(nn.Module, ABC):
    """Maps samples of shape ``(B, *data_shape)`` to one raw score (logit or critic value) each, shape ``(B,)``.

    A class-conditional discriminator (``num_classes > 0``) is called as ``D(x, y)`` with int64 labels ``(B,)``.
    """

    def __init__(self, data_shape: tuple[int, ...], num_classes: int = 0) -> None:
        super().__init__()
        self.data_shape = tuple(int(s) for s in data_shape)
        self.num_classes = int(num_classes)

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @abstractmethod
    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Return one raw score per sample, shape ``(B,)``."""


def generate(generator: nn.Module, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """``G(z)``, or ``G(z, labels)`` when labels are given (the one place that knows the calling convention)."""
    return generator(z) if labels is None else generator(z, labels)


def discriminate(discriminator: nn.Module, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
    """``D(x)``, or ``D(x, labels)`` when labels are given."""
    return discriminator(x) if labels is None else discriminator(x, labels)


def init_normal_(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN initialisation: conv / linear weights from N(0, std), batch-norm scales from N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


@runtime_checkable
class Loss(Protocol):
    """An adversarial loss: what D and G each minimise, as pure functions of D's raw scores, shape ``(B,)``.

    ``g_uses_real`` tells the engine that ``g_loss`` needs D's scores on real data (a relativistic loss); otherwise
    it passes None and skips that forward pass.
    """

    name: str
    g_uses_real: bool

    def d_loss(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        """The scalar D minimises."""
        ...

    def g_loss(self, fake_scores: torch.Tensor, real_scores: torch.Tensor | None) -> torch.Tensor:
        """The scalar G minimises."""
        ...


@dataclass
class PenaltyInputs:
    """What the engine hands a regulariser's penalty.

    ``discriminator`` is the plain network (never a data-parallel or compiled wrapper: penalties may need a double
    backward); ``real`` and ``fake`` are the batches D was just shown (after any augmentation), and
    ``real_labels`` / ``fake_labels`` their class labels for a conditional variant (else None): score with
    :meth:`scores`, which passes them on. In D's step both batches are detached; in G's step (``g_penalty``)
    ``fake`` carries the graph back to G. ``uniform()`` draws one number from U[0, 1) per sample of the batch,
    shape ``(B,)``: this rank's rows of a draw made for the global batch, so that a penalty's randomness does not
    depend on the number of processes.
    """

    discriminator: nn.Module
    real: torch.Tensor
    fake: torch.Tensor
    uniform: Callable[[], torch.Tensor]
    real_labels: torch.Tensor | None = None
    fake_labels: torch.Tensor | None = None

    def scores(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """D's scores for ``x`` (with ``labels`` for a conditional discriminator)."""
        return discriminate(self.discriminator, x, labels)


@runtime_checkable
class Regulariser(Protocol):
    """A training technique applied beside the loss, at the points it declares; any of the four may be None.

    - ``penalty(inputs) -> scalar``: added to D's loss, multiplied by the value the variant (or ``--reg``) gives;
    - ``g_penalty(inputs) -> scalar``: added to G's loss the same way (e.g. an auxiliary classifier's loss on the
      generated samples);
    - ``after_step(discriminator, value)``: a constraint on D's weights after each of its optimizer steps;
    - ``augment(images) -> images``: a differentiable augmentation of every batch D sees, real and generated, in
      both D's and G's steps.

    ``every`` > 1 applies the penalties only on every ``every``-th D (G) step, scaled by ``every`` (lazy
    regularisation, Karras et al. 2020).
    """

    name: str
    every: int
    penalty: Callable[[PenaltyInputs], torch.Tensor] | None
    g_penalty: Callable[[PenaltyInputs], torch.Tensor] | None
    after_step: Callable[[nn.Module, float], None] | None
    augment: Callable[[torch.Tensor], torch.Tensor] | None


@dataclass
class LabProbe:
    """What a lab layer (:class:`ganzoo.LabLayerSpec`) is shown at each recorded step of ``ganzoo lab``.

    ``generator`` and ``discriminator`` are copies of the networks being trained, in eval mode, so a layer cannot
    change the training run; ``loss`` is the loss being trained. ``z`` ``(N, z_dim)`` is the recording's fixed noise
    and ``fake`` its samples, ``generator(z)`` ``(N, 2)``; ``real`` ``(N, 2)`` is a fixed set of real samples.
    ``grid`` ``(H * W, 2)`` holds the points a heatmap is evaluated on, row by row from the top left of the plane,
    ``grid_shape`` is ``(H, W)`` and ``box`` ``(x_min, x_max, y_min, y_max)`` the plane shown. Everything lives on
    the training device. A layer that needs randomness draws it from its own ``torch.Generator``, never the global
    one.
    """

    step: int
    generator: nn.Module
    discriminator: nn.Module
    loss: Loss
    z: torch.Tensor
    fake: torch.Tensor
    real: torch.Tensor
    grid: torch.Tensor
    grid_shape: tuple[int, int]
    box: tuple[float, float, float, float]

