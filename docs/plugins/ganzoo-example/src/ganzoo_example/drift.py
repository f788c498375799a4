"""The drift penalty of progressive GANs (Karras et al. 2018, https://arxiv.org/abs/1710.10196, section A.1):
epsilon * E[D(x)^2] on real samples, which keeps a Wasserstein critic's scores from drifting far from zero.

A regulariser is a pure function of what the engine hands it (``ganzoo.PenaltyInputs``); the engine adds
``value * penalty`` to D's loss, so ``--reg drift=0.001`` is the paper's epsilon.
"""

from __future__ import annotations

import torch

import ganzoo


def drift_penalty(inputs: ganzoo.PenaltyInputs) -> torch.Tensor:
    """E[D(x)^2] over the real batch D was just shown."""
    return inputs.discriminator(inputs.real).pow(2).mean()


DRIFT = ganzoo.RegulariserSpec("drift", "Karras et al. 2018 drift penalty: epsilon * E[D(x)^2] on real samples",
                               penalty=drift_penalty, paper="https://arxiv.org/abs/1710.10196")
