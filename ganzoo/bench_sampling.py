"""What a benchmark scores: samples drawn from a generator with seeded noise, labels balanced over the classes,
and the batches feature extraction takes."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

from ganzoo.data import to_uint8_images
from ganzoo.interfaces import generate


def image_batches(images: torch.Tensor, size: int = 100) -> Iterator[torch.Tensor]:
    """``images`` in batches of ``size``, as feature extraction takes them."""
    for start in range(0, len(images), size):
        yield images[start:start + size]


def balanced_labels(n: int, num_classes: int) -> torch.Tensor | None:
    """0, 1, ..., K-1, 0, 1, ...: the labels a conditional generator is scored with (None when unconditional)."""
    return torch.arange(n) % num_classes if num_classes else None


@torch.no_grad()
def draw_samples(generator: torch.nn.Module, n: int, seed: int, device: torch.device, batch: int = 250,
                 progress: Callable[[int], None] | None = None, labels: torch.Tensor | None = None) -> torch.Tensor:
    """``n`` samples from ``generator`` in eval mode, noise seeded by ``seed`` (and ``labels`` for a conditional
    generator); images come back as uint8."""
    generator = generator.to(device).eval()
    noise_rng = torch.Generator().manual_seed(seed)
    chunks = []
    for start in range(0, n, batch):
        z = torch.randn(min(batch, n - start), generator.z_dim, generator=noise_rng).to(device)
        y = None if labels is None else labels[start:start + len(z)].to(device)
        x = generate(generator, z, y).float().cpu()
        chunks.append(to_uint8_images(x) if x.dim() == 4 else x)
        if progress is not None:
            progress(len(x))
    return torch.cat(chunks).contiguous()
