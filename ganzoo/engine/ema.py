"""Exponential moving average of the generator's weights."""

from __future__ import annotations

import copy

import torch
from torch.optim.swa_utils import update_bn

_BN_SEED = 0x5EED  # noise for re-estimating batch-norm statistics: fixed, and drawn outside the training streams
_BN_BATCHES, _BN_BATCH_SIZE = 4, 256


class EMA:
    """``ema = d * ema + (1 - d) * weights`` after every G step, with the usual warm-up ``d_t = min(d, (1+t)/(10+t))``
    so early averages are not dominated by the random initialisation.

    Buffers are copied from G at every step. Batch-norm statistics copied that way belong to G's current weights,
    not to their average, so :meth:`recalibrate` re-estimates them for the averaged weights before the EMA
    generator is used (as SWA does, Izmailov et al. 2018, ``torch.optim.swa_utils.update_bn``): on MNIST with the
    DCGAN generator this lowered the MNIST-classifier FID of the EMA samples from 62.1 to 58.8 (docs/benchmarks.md).
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(model).eval().requires_grad_(False)
        self._has_batchnorm = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in self.module.modules())
        self._calibrated = False

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        ema_params = list(self.module.parameters())
        torch._foreach_lerp_(ema_params, [p.detach() for p in model.parameters()], 1.0 - decay)
        for ema_buf, buf in zip(self.module.buffers(), model.buffers(), strict=True):
            ema_buf.copy_(buf)
        self._calibrated = False

    @torch.no_grad()
    def recalibrate(self) -> None:
        """Re-estimate the EMA generator's batch-norm statistics on fixed noise (no-op without batch norm, or when
        already done since the last update). Deterministic, and touches no global random stream."""
        if not self._has_batchnorm or self._calibrated:
            return
        rng = torch.Generator().manual_seed(_BN_SEED)
        device = next(self.module.parameters()).device
        z_dim = self.module.z_dim
        noise = [torch.randn(_BN_BATCH_SIZE, z_dim, generator=rng).to(device) for _ in range(_BN_BATCHES)]
        update_bn(noise, self.module)
        self.module.eval()
        self._calibrated = True
