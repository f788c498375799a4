"""Exponential moving average of the generator's weights."""

from __future__ import annotations

import copy

import torch


class EMA:
    """``ema = d * ema + (1 - d) * weights`` after every G step, with the usual warm-up ``d_t = min(d, (1+t)/(10+t))``
    so early averages are not dominated by the random initialisation. Buffers (batch-norm statistics) are copied."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        ema_params = list(self.module.parameters())
        torch._foreach_lerp_(ema_params, [p.detach() for p in model.parameters()], 1.0 - decay)
        for ema_buf, buf in zip(self.module.buffers(), model.buffers(), strict=True):
            ema_buf.copy_(buf)
