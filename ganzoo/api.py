"""The Python API: what the CLI calls, and what users script against."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.config import TrainConfig
from ganzoo.engine.device import select_device
from ganzoo.engine.layout import prefer_channels_last
from ganzoo.engine.loop import Events
from ganzoo.engine.loop import train as _train
from ganzoo.engine.rundir import RunDir, find_run
from ganzoo.errors import CheckpointError, ConfigError
from ganzoo.interfaces import Discriminator, Generator, generate
from ganzoo.models import build, create
from ganzoo.registry import Registry, VariantSpec

__all__ = ["LoadedRun", "create", "list_variants", "load", "sample", "train"]


def _registry(registry: Registry | None) -> Registry:
    from ganzoo.plugins import get_registry

    return registry or get_registry()


def list_variants(pattern: str = "*", registry: Registry | None = None) -> list[str]:
    """Names of registered variants matching the glob ``pattern`` (``"wgan*"``), sorted."""
    return _registry(registry).names("variant", pattern)


def train(variant: str, out: str | Path, *, resume: bool = False, registry: Registry | None = None,
          events: Events | None = None, **options: Any) -> RunDir:
    """Train ``variant`` into run directory ``out``; ``options`` are :class:`TrainConfig` fields.

    ``ganzoo.train("dcgan", "runs/dcgan", steps=500, seed=1)``. With ``resume=True`` the run in ``out`` continues
    from its newest valid checkpoint (``steps`` may be raised to train longer).
    """
    registry = _registry(registry)
    if resume:
        run = find_run(Path(out))
        stored = TrainConfig.from_file(run.config)
        config = TrainConfig.from_dict({**stored.__dict__, **{k: v for k, v in options.items() if v is not None}})
    else:
        config = TrainConfig(variant=variant, **options)
    return _train(config, Path(out), registry=registry, resume=resume, events=events)


@dataclass
class LoadedRun:
    """A trained variant loaded from a checkpoint."""

    spec: VariantSpec
    config: TrainConfig
    step: int
    generator: Generator
    discriminator: Discriminator
    ema_generator: Generator | None
    checkpoint: Path
    skipped: list[str] = field(default_factory=list)  # newer checkpoints that failed verification, and why
    class_names: tuple[str, ...] = ()  # one per class for a conditional run

    @property
    def sampler(self) -> Generator:
        """The EMA generator when the run kept one, else the raw generator."""
        return self.ema_generator or self.generator

    @property
    def num_classes(self) -> int:
        """How many classes the run's generator is conditioned on (0: unconditional)."""
        return self.generator.num_classes


def load(path: str | Path, device: str = "cpu", registry: Registry | None = None) -> LoadedRun:
    """Load a run directory (its newest valid checkpoint) or one checkpoint file, in eval mode."""
    registry = _registry(registry)
    path = Path(path)
    run = find_run(path)
    candidates = [path] if path.is_file() else [p for _, p in reversed(run.list_checkpoints())]
    if not candidates:
        raise CheckpointError(f"run {run.root} has no checkpoints yet")
    problems = []
    for candidate in candidates:
        try:
            tensors, meta = ckpt.load_tensors(candidate)
            config = TrainConfig.from_dict(json.loads(meta["config"]))
            spec = registry.variant(meta["variant"])
            data_shape = tuple(json.loads(meta["data_shape"]))
            classes = int(meta.get("num_classes", "0"))  # absent before conditional variants: unconditional
            names = tuple(json.loads(meta.get("class_names", "[]")))
            g, d = build(spec, data_shape, int(meta["z_dim"]), classes)
            ckpt.load_module("G", g, tensors, candidate)
            ckpt.load_module("D", d, tensors, candidate)
            ema = None
            if any(k.startswith("G_ema.") for k in tensors):
                ema, _ = build(spec, data_shape, int(meta["z_dim"]), classes)
                ckpt.load_module("G_ema", ema, tensors, candidate)
        except (CheckpointError, ConfigError, KeyError, ValueError) as exc:
            problems.append(f"{candidate.name}: {exc}")
            continue
        target = select_device(device)
        for net in (g, d, ema):
            if net is not None:
                net.to(target).eval()
        # the engine's layout rule (channels-last for convolutional networks on CPU): the kernels CPU training
        # used, and faster sampling
        prefer_channels_last(target, g, d, data_shape, int(meta["z_dim"]), *([ema] if ema is not None else []))
        return LoadedRun(spec, config, int(meta["step"]), g, d, ema, candidate, problems,
                         names if len(names) == classes else tuple(str(i) for i in range(classes)))
    raise CheckpointError(f"no loadable checkpoint in {run.root}: {'; '.join(problems)}")


def sample_labels(run: LoadedRun, n: int, labels: int | Sequence[int] | torch.Tensor | None = None,
                  seed: int = 0) -> torch.Tensor | None:
    """The int64 labels ``(n,)`` a conditional run samples with: ``labels`` checked and broadcast (one class for
    all, or one per sample), or, when None, classes drawn uniformly with ``seed``. None for an unconditional run,
    which refuses labels."""
    classes = run.num_classes
    if not classes:
        if labels is not None:
            raise ConfigError(f"this {run.spec.name!r} run is unconditional: it takes no class labels")
        return None
    if labels is None:
        return torch.randint(classes, (n,), generator=torch.Generator().manual_seed(seed + 1))
    y = torch.as_tensor(labels)
    if y.is_floating_point() or y.dim() > 1:
        raise ConfigError(f"class labels must be integers, one for all samples or one per sample, got {labels!r}")
    y = y.long().expand(n) if y.dim() == 0 else y.long()
    if len(y) != n:
        raise ConfigError(f"{len(y)} class labels for {n} samples")
    bad = y[(y < 0) | (y >= classes)]
    if len(bad):
        raise ConfigError(f"class {int(bad[0])} is out of range: this run has classes 0-{classes - 1} "
                          f"({', '.join(run.class_names[:10])}{', ...' if classes > 10 else ''})")
    return y.contiguous()


@torch.no_grad()
def sample(run: LoadedRun, n: int, seed: int = 0, batch_size: int = 256,
           labels: int | Sequence[int] | torch.Tensor | None = None) -> torch.Tensor:
    """``n`` samples (CPU float tensor) from the run's sampling generator with noise seeded by ``seed``.

    For a conditional run, ``labels`` picks the classes: one for every sample (``labels=7``) or one per sample;
    None draws them uniformly. An unconditional run refuses labels.
    """
    g = run.sampler
    y = sample_labels(run, n, labels, seed)
    device = next(g.parameters()).device
    noise_rng = torch.Generator().manual_seed(seed)
    chunks = []
    for start in range(0, n, batch_size):
        z = torch.randn(min(batch_size, n - start), g.z_dim, generator=noise_rng).to(device)
        part = None if y is None else y[start:start + len(z)].to(device)
        chunks.append(generate(g, z, part).float().cpu())
    return torch.cat(chunks).contiguous() if chunks else torch.empty(0, *g.data_shape)
