"""The relativistic standard GAN loss (RSGAN), Jolicoeur-Martineau 2018, https://arxiv.org/abs/1807.00734.

D is trained so that a real sample scores higher than a generated one, sigmoid(D(x_r) - D(x_f)) -> 1; G so that a
generated one scores higher than a real one. Real and fake scores are paired by position in the batch. G's loss
needs D's scores on real data, so the spec sets ``g_uses_real``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

import ganzoo


def relativistic_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """-E[log sigmoid(D(x_r) - D(x_f))]."""
    return F.softplus(fake - real).mean()


def relativistic_g(fake: torch.Tensor, real: torch.Tensor | None) -> torch.Tensor:
    """-E[log sigmoid(D(x_f) - D(x_r))]."""
    if real is None:
        raise ValueError("the relativistic G loss needs D's scores on real data")
    return F.softplus(real - fake).mean()


RELATIVISTIC = ganzoo.LossSpec(
    "relativistic", "Jolicoeur-Martineau 2018 relativistic standard GAN loss (RSGAN)",
    relativistic_d, relativistic_g, g_uses_real=True,
)
