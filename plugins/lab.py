"""The layers of ``ganzoo lab``'s plane, after GAN Lab (Kahng et al. 2018, "GAN Lab: Understanding Complex Deep
Generative Models using Interactive Visual Experimentation", https://arxiv.org/abs/1809.01587): real and generated
samples, D's decision surface, G's gradient field and the manifold G makes of the noise space. Colours are
ColorBrewer's colour-blind-safe purple-green (PRGn) for generated / real, with an orange and a blue from the
Okabe-Ito palette.
"""

from __future__ import annotations

import torch

import ganzoo

GRADIENT_ARROWS = 64  # generated samples that get an arrow
MANIFOLD_LINES = 21  # noise grid points per axis
MANIFOLD_RANGE = 2.0  # the noise grid spans +-2 standard deviations


def real_samples(probe: ganzoo.LabProbe) -> torch.Tensor:
    return probe.real


def fake_samples(probe: ganzoo.LabProbe) -> torch.Tensor:
    return probe.fake


def decision_surface(probe: ganzoo.LabProbe) -> torch.Tensor:
    """D's raw score at every grid point: higher is 'more real' for every loss ganzoo ships."""
    return probe.discriminator(probe.grid).float()


def gradient_field(probe: ganzoo.LabProbe) -> torch.Tensor:
    """``-d g_loss / dx`` at the first generated samples: where G's loss pushes each of them, through D."""
    n = min(GRADIENT_ARROWS, len(probe.fake))
    x = probe.fake[:n].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        fake_scores = probe.discriminator(x).float()
        real_scores = probe.discriminator(probe.real[:n]).float() if probe.loss.g_uses_real else None
        (grad,) = torch.autograd.grad(probe.loss.g_loss(fake_scores, real_scores), x)
    return torch.cat([x.detach(), -grad], dim=1)


def manifold(probe: ganzoo.LabProbe) -> torch.Tensor:
    """G applied to a regular grid of noise: a line for 1-D noise; for 2-D or more, the grid over the first two
    noise coordinates, the others held at 0 (a slice through the origin)."""
    z_dim = probe.z.shape[1]
    axis = torch.linspace(-MANIFOLD_RANGE, MANIFOLD_RANGE, MANIFOLD_LINES, device=probe.z.device)
    if z_dim == 1:
        return probe.generator(axis.unsqueeze(1)).float().view(1, MANIFOLD_LINES, 2)
    a, b = torch.meshgrid(axis, axis, indexing="ij")
    z = torch.zeros(MANIFOLD_LINES ** 2, z_dim, device=probe.z.device)
    z[:, 0], z[:, 1] = a.flatten(), b.flatten()
    return probe.generator(z).float().view(MANIFOLD_LINES, MANIFOLD_LINES, 2)


LAYERS = [
    ganzoo.LabLayerSpec("heatmap", "D's score (purple: fake, green: real)", "heatmap", decision_surface,
                        colour="#762a83 #1b7837"),
    ganzoo.LabLayerSpec("manifold", "manifold", "mesh", manifold, colour="#0072b2"),
    ganzoo.LabLayerSpec("real", "real samples", "points", real_samples, colour="#1b7837", static=True),
    ganzoo.LabLayerSpec("fake", "generated samples", "points", fake_samples, colour="#762a83"),
    ganzoo.LabLayerSpec("gradients", "G's gradients", "arrows", gradient_field,
                        colour="#e66100"),
]


@ganzoo.hookimpl
def ganzoo_register_lab_layers(register):
    for spec in LAYERS:
        register(spec)
