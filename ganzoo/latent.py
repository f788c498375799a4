"""The noise a generator is sampled with: seeded draws, the truncation trick, and spherical interpolation.

**Truncation** (``psi`` in (0, 1]): the interpolation toward the mean latent of StyleGAN (Karras et al. 2019,
https://arxiv.org/abs/1812.04948, section 2): ``z' = z_mean + psi * (z - z_mean)``. ganzoo's generators take
``z ~ N(0, I)`` directly (there is no mapping network whose mean output would need estimating), so ``z_mean = 0``
and ``z' = psi * z``: ``psi = 1`` is plain sampling, and smaller values trade variety for typical, cleaner samples.
BigGAN's truncation (re-drawing components beyond a threshold) is the other common definition; its threshold is
not bounded by 1, and at 1 it would still change the samples, so it does not fit the (0, 1] range.

**Interpolation** is spherical (slerp, Shoemake 1985; White 2016, https://arxiv.org/abs/1609.04468): for
high-dimensional Gaussian noise, the straight line between two draws passes through norms the generator never saw
in training, while the great circle keeps them typical.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ganzoo.errors import ConfigError


def check_truncation(psi: float | None) -> float | None:
    """``psi`` as a float in (0, 1], or None for no truncation; anything else raises :class:`ConfigError`."""
    if psi is None:
        return None
    if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not (0.0 < float(psi) <= 1.0):
        raise ConfigError(f"truncation psi must be a number in (0, 1] (1: none), got {psi!r}")
    return float(psi)


def noise(n: int, z_dim: int, seed: int, truncation: float | None = None) -> torch.Tensor:
    """``n`` draws of ``z ~ N(0, I)`` from ``torch.Generator().manual_seed(seed)`` (CPU), truncated by ``psi``.

    The draws are one stream: the first ``k`` rows are the same whatever ``n`` is, so ``noise(1, ..., seed)`` is the
    first sample of ``ganzoo.sample(run, n, seed=seed)``.
    """
    if n < 0:
        raise ConfigError(f"the number of samples must not be negative, got {n}")
    z = _whole_blocks(torch.Generator().manual_seed(seed), n * z_dim)[:n * z_dim].view(n, z_dim)
    return truncate(z, truncation)


def noise_batches(n: int, z_dim: int, seed: int, batch_size: int,
                  truncation: float | None = None) -> Iterator[torch.Tensor]:
    """:func:`noise`'s rows, ``batch_size`` at a time, each batch drawn when it is asked for: the batches
    concatenate to exactly ``noise(n, z_dim, seed, truncation)``, whatever ``batch_size`` is, and memory holds one
    batch however large ``n`` is. Bad arguments raise :class:`ConfigError` at the call, not at the first batch."""
    if n < 0:
        raise ConfigError(f"the number of samples must not be negative, got {n}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"the batch size must be a positive integer, got {batch_size!r}")
    return _draw_batches(n, z_dim, torch.Generator().manual_seed(seed), batch_size, check_truncation(truncation))


# torch's CPU normal sampler makes normals from uniforms 16 at a time, and a draw whose size is not a multiple of 16
# redraws its last values from fresh uniforms. Drawing whole blocks of 16 and dropping the surplus makes the stream
# one sequence, so that a prefix of it, or its rows drawn a batch at a time, are the same values;
# tests/test_sample_output_edges.py checks that against torch for many shapes.
_BLOCK = 16


def _whole_blocks(generator: torch.Generator, values: int) -> torch.Tensor:
    """At least ``values`` normals, in whole blocks (the surplus is the start of what the stream draws next)."""
    return torch.randn(-(-values // _BLOCK) * _BLOCK, generator=generator)


def _draw_batches(n: int, z_dim: int, generator: torch.Generator, batch_size: int,
                  psi: float | None) -> Iterator[torch.Tensor]:
    pending = torch.empty(0)  # drawn, not yet handed out: the surplus of the last whole block
    for start in range(0, n, batch_size):
        rows = min(batch_size, n - start)
        want = rows * z_dim
        if len(pending) < want:
            pending = torch.cat([pending, _whole_blocks(generator, want - len(pending))])
        yield truncate(pending[:want].view(rows, z_dim), psi)
        pending = pending[want:]


def truncate(z: torch.Tensor, psi: float | None) -> torch.Tensor:
    """The truncation trick toward the prior's mean (0): ``psi * z``; None or 1 leaves ``z`` as it is."""
    psi = check_truncation(psi)
    return z if psi is None or psi == 1.0 else z * psi


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between vectors ``a`` and ``b`` (shape ``(D,)``) at fractions ``t`` (shape ``(F,)``):
    ``(F, D)``, equal to ``a`` at ``t = 0`` and ``b`` at ``t = 1``. Nearly parallel vectors fall back to the straight
    line (the arc and the chord then coincide)."""
    a64, b64, t64 = a.double(), b.double(), t.double().unsqueeze(1)
    cos = torch.dot(a64, b64) / (a64.norm() * b64.norm()).clamp_min(1e-300)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(torch.sin(omega).abs()) < 1e-6:
        out = (1 - t64) * a64 + t64 * b64
    else:
        out = (torch.sin((1 - t64) * omega) * a64 + torch.sin(t64 * omega) * b64) / torch.sin(omega)
    return out.to(a.dtype)


def walk(z_a: torch.Tensor, z_b: torch.Tensor, frames: int) -> torch.Tensor:
    """``frames`` latents evenly spaced along the great circle from ``z_a`` to ``z_b``, both ends included."""
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 2:
        raise ConfigError(f"an interpolation needs at least 2 frames, got {frames!r}")
    return slerp(z_a, z_b, torch.linspace(0.0, 1.0, frames))

