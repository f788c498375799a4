"""The training configuration: one frozen dataclass whose fields map 1:1 to ``ganzoo train`` options.

``None`` means "the variant's default"; :func:`resolve` fills every such field from the variant's spec, and the
resolved config is what ``config.json`` records, so a run can be reproduced from that file alone.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError
from ganzoo.registry import Registry, VariantSpec


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on."""

    variant: str
    dataset: str | None = None  # "mnist", "cifar10", "folder:PATH", ...; None: the variant's default
    data_dir: str | None = None  # torchvision-format root for the dataset; None: the provider's own lookup
    steps: int | None = None  # generator steps
    batch_size: int | None = None
    image_size: int | None = None
    channels: int | None = None  # None: the dataset's own channel count
    z_dim: int | None = None
    n_critic: int | None = None  # discriminator steps per generator step
    loss: str | None = None
    lr_g: float | None = None
    lr_d: float | None = None
    ema_decay: float | None = None  # None: the variant's default; 0 disables the EMA generator
    seed: int = 0
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", "mps"
    sample_every: int = 500  # steps between sample grids (the last step always gets one)
    checkpoint_every: int = 500  # steps between checkpoints (the last step always gets one)
    keep_checkpoints: int = 3  # how many of the newest checkpoints to keep
    amp: str = "off"  # "off", "bf16" or "fp16" autocast (CUDA)
    compile: bool = False  # torch.compile both networks

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "image_size", "channels", "z_dim", "n_critic"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
                raise ConfigError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")
        for name in ("sample_every", "checkpoint_every", "keep_checkpoints"):
            value = getattr(self, name)
            if not isinstance(value, int) or value <= 0:
                raise ConfigError(f"{name.replace('_', '-')} must be a positive integer, got {value!r}")
        for name in ("lr_g", "lr_d"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name.replace('_', '-')} must be a positive number, got {value!r}")
        if self.ema_decay is not None and not (0.0 <= self.ema_decay < 1.0):
            raise ConfigError(f"ema-decay must be in [0, 1), got {self.ema_decay!r}")
        if self.amp not in ("off", "bf16", "fp16"):
            raise ConfigError(f"amp must be off, bf16 or fp16, got {self.amp!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**data)

    @classmethod
    def from_file(cls, path: Path) -> TrainConfig:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config {path} is not a JSON object")
        return cls.from_dict(data)


def resolve(config: TrainConfig, registry: Registry) -> TrainConfig:
    """Return ``config`` with every ``None`` default filled from the variant spec, checked against it."""
    spec: VariantSpec = registry.variant(config.variant)
    d = spec.defaults
    filled = dataclasses.replace(
        config,
        dataset=config.dataset or d.dataset,
        steps=config.steps or d.steps,
        batch_size=config.batch_size or d.batch_size,
        image_size=config.image_size or d.image_size,
        z_dim=config.z_dim or d.z_dim,
        n_critic=config.n_critic or d.n_critic,
        loss=config.loss or spec.loss,
        lr_g=config.lr_g or d.g_optimizer.lr,
        lr_d=config.lr_d or d.d_optimizer.lr,
        ema_decay=config.ema_decay if config.ema_decay is not None else (d.ema_decay or 0.0),
    )
    registry.loss(filled.loss)  # unknown loss names fail here, with a suggestion
    dataset_name = filled.dataset.split(":", 1)[0]
    dataset = registry.dataset(dataset_name)
    if dataset.kind not in spec.data_kinds:
        raise ConfigError(
            f"variant {spec.name!r} does not train on {dataset.kind} data ({dataset_name}); "
            f"it supports {', '.join(spec.data_kinds)}")
    if dataset.kind == "image":
        if filled.image_size not in spec.image_sizes:
            raise ConfigError(
                f"variant {spec.name!r} does not support image size {filled.image_size}; "
                f"supported: {', '.join(map(str, spec.image_sizes))}")
        if filled.channels is not None and filled.channels not in spec.channels:
            raise ConfigError(
                f"variant {spec.name!r} does not support {filled.channels} channels; "
                f"supported: {', '.join(map(str, spec.channels))}")
    return filled
