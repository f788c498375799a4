"""FID while training: the sampling generator scored every K steps with a cheap feature extractor.

The score is against the *training* split's statistics (cached like every reference set), never the test split
that ``ganzoo bench`` reports, so watching a run does not tune it to the held-out data. Every evaluation uses the
same fixed noise, so consecutive points differ by the generator only. Nothing here touches the training random
streams: runs with and without tracking train bit-identically.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from ganzoo.errors import ConfigError
from ganzoo.interfaces import generate
from ganzoo.registry import Registry

TRACK_SAMPLES = 2048  # default N per evaluation: cheap with a small extractor, enough for a 128-d covariance
TRACK_POINTS = 20  # default evaluations per run when --fid-every is not given


def default_extractor(registry: Registry, dataset: str) -> str | None:
    """The extractor tracking uses when none is named: one registered for this dataset in particular (the
    MNIST classifier for mnist), since a general one such as Inception is too slow to run while training."""
    base = dataset.split(":", 1)[0]
    for name in registry.names("extractor"):
        if base in registry.extractor(name).datasets:
            return name
    return None


def default_interval(steps: int) -> int:
    """Steps between evaluations by default: :data:`TRACK_POINTS` points over the run."""
    return max(1, steps // TRACK_POINTS)


@dataclass
class FidTracker:
    """Scores a generator against cached training-split statistics; build it with :meth:`build`."""

    extractor_name: str
    extractor: Any
    reference: Any  # ganzoo.metrics.pipeline.FeatureSet
    noise: torch.Tensor
    batch_size: int = 256

    @classmethod
    def build(cls, registry: Registry, extractor_name: str, dataset: str, image_size: int, channels: int,
              data_dir: str | None, z_dim: int, num_samples: int, seed: int, device: torch.device) -> FidTracker:
        """Load the extractor and the training split's statistics (computed once, then cached)."""
        from ganzoo.metrics.reference import reference_features

        spec = registry.extractor(extractor_name)
        extractor = spec.build(device=device)
        if channels not in getattr(extractor, "channels", (channels,)):
            raise ConfigError(f"extractor {extractor_name!r} does not take {channels}-channel images")
        reference = reference_features(registry, dataset, "train", extractor_name, num_samples, image_size,
                                       channels, data_dir, device, keep=0, extractor=extractor)
        noise = torch.randn(num_samples, z_dim, generator=torch.Generator().manual_seed(seed + 2))
        return cls(extractor_name, extractor, reference, noise)

    @torch.no_grad()
    def measure(self, generator: torch.nn.Module) -> dict[str, float | int | str]:
        """FID of ``generator`` (in eval mode for the duration; its mode is restored) against the reference."""
        from ganzoo.data import to_uint8_images
        from ganzoo.metrics.frechet import frechet_distance
        from ganzoo.metrics.pipeline import extract

        started = time.perf_counter()
        device = next(generator.parameters()).device
        classes = getattr(generator, "num_classes", 0)
        labels = torch.arange(len(self.noise), device=device) % classes if classes else None  # balanced classes
        was_training = generator.training
        generator.eval()
        try:
            batches = (to_uint8_images(generate(generator, self.noise[i:i + self.batch_size].to(device),
                                                None if labels is None else labels[i:i + self.batch_size]).float())
                       for i in range(0, len(self.noise), self.batch_size))
            fake = extract(self.extractor, batches, device=device, keep=0)
        finally:
            generator.train(was_training)
        ref = self.reference.stats
        fid = frechet_distance(ref.mean, ref.covariance, fake.stats.mean, fake.stats.covariance, ref.n, fake.n)
        return {"fid": float(fid), "extractor": self.extractor_name, "fid_n": int(fake.n),
                "eval_s": round(time.perf_counter() - started, 3)}
