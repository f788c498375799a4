"""The training configuration: one frozen dataclass whose fields map 1:1 to ``ganzoo train`` options.

``None`` means "the variant's default"; :func:`resolve` fills every such field from the variant's spec. A run's
``config.json`` records the resolved config (with the dataset's channel count and the device actually used), the
request beside it where the two differ (``"requested"``) and what the data turned out to be (``"data"``), so a run
can be reproduced from that file alone: :meth:`TrainConfig.from_file` reads it back.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganzoo.errors import ConfigError
from ganzoo.registry import Registry
from ganzoo.specs import VariantSpec, check_network, check_regularisers


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
    regularisers: dict[str, float] | None = None  # registered name -> value; None: the variant's, {}: none
    network: dict[str, Any] | None = None  # network-builder options (width, ...); None: the variant's defaults
    init: str | None = None  # start from these weights (a run, a checkpoint, pretrained:V/W, hf://...): fine-tuning
    lr_g: float | None = None
    lr_d: float | None = None
    ema_decay: float | None = None  # None: the variant's default; 0 disables the EMA generator
    lr_decay: float | None = None  # last fraction of the run with linearly falling learning rates; None: variant's
    seed: int = 0
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", "mps"
    fid_every: int | None = None  # steps between FID evaluations while training; None: 20 per run, 0: off
    fid_extractor: str | None = None  # None: the extractor registered for this dataset (mnist-classifier on MNIST)
    fid_samples: int | None = None  # samples per evaluation; None: 2048 (more than the extractor's feature dim)
    sample_every: int = 500  # steps between sample grids (the last step always gets one)
    checkpoint_every: int = 500  # steps between checkpoints (the last step always gets one)
    keep_checkpoints: int = 3  # how many of the newest checkpoints to keep
    amp: str = "auto"  # "auto", "off", "bf16" or "fp16" autocast; auto: bf16 for images on a native-bf16 CPU
    compile: bool = False  # torch.compile both networks
    skip_bad_images: bool = False  # leave out image files that cannot be decoded (listed in config.json)
    log: tuple[str, ...] = ()  # loggers beside metrics.jsonl, e.g. ("tensorboard", "wandb")

    def __post_init__(self) -> None:
        for name in ("variant", "device"):
            _check_text(name, getattr(self, name), optional=False)
        for name in ("dataset", "data_dir", "loss", "fid_extractor", "init"):
            _check_text(name, getattr(self, name), optional=True)
        for name in ("steps", "batch_size", "image_size", "channels", "z_dim", "n_critic", "fid_samples"):
            _check_int(name, getattr(self, name), optional=True, low=1)
        _check_int("fid_every", self.fid_every, optional=True, low=0)
        for name in ("sample_every", "checkpoint_every", "keep_checkpoints"):
            _check_int(name, getattr(self, name), optional=False, low=1)
        _check_int("seed", self.seed, optional=False, low=0)
        if self.seed > MAX_SEED:
            raise ConfigError(f"seed must be at most {MAX_SEED}, got {self.seed}")
        if self.network is not None:
            if not isinstance(self.network, dict):
                raise ConfigError(f"network must map option names to values, got {self.network!r}")
            object.__setattr__(self, "network", check_network(self.network))
        if self.regularisers is not None:
            if not isinstance(self.regularisers, dict):
                raise ConfigError(f"regularisers must map regulariser names to values, got {self.regularisers!r}")
            object.__setattr__(self, "regularisers", check_regularisers(self.regularisers))
        for name in ("lr_g", "lr_d"):
            value = getattr(self, name)
            if value is not None and not ((real := _finite_real(value)) is not None and real > 0):
                raise ConfigError(f"{_option(name)} must be a positive number, got {value!r}")
        if self.ema_decay is not None and not ((real := _finite_real(self.ema_decay)) is not None
                                               and 0.0 <= real < 1.0):
            raise ConfigError(f"ema-decay must be a number in [0, 1), got {self.ema_decay!r}")
        if self.lr_decay is not None and not ((real := _finite_real(self.lr_decay)) is not None
                                              and 0.0 <= real <= 1.0):
            raise ConfigError(f"lr-decay must be a fraction of the run in [0, 1], got {self.lr_decay!r}")
        if not isinstance(self.amp, str) or self.amp not in AMP_MODES:
            raise ConfigError(f"amp must be {', '.join(AMP_MODES[:-1])} or {AMP_MODES[-1]}, got {self.amp!r}")
        for name in ("compile", "skip_bad_images"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{_option(name)} must be true or false, got {getattr(self, name)!r}")
        if isinstance(self.log, str) or not isinstance(self.log, (list, tuple)) or not all(
                isinstance(name, str) and name.strip() for name in self.log):
            raise ConfigError(f"log must be a list of logger names, got {self.log!r}")
        object.__setattr__(self, "log", tuple(dict.fromkeys(name.strip() for name in self.log)))
        # 1 and 1.0 are one value: store floats so JSON round-trips
        for name in ("lr_g", "lr_d", "ema_decay", "lr_decay"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, float(value))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a mapping such as ``json.loads(config.json)``; anything wrong raises :class:`ConfigError`.

        The record-only sections of a run's config.json (``"requested"``, ``"data"``) are not options; the device
        is taken from ``"requested"`` when it is there (``"auto"`` rather than the machine's ``"cuda:0"``).
        """
        if not isinstance(data, dict):
            raise ConfigError(f"a config must be a JSON object, got {type(data).__name__}")
        requested = data.get("requested")
        data = {k: v for k, v in data.items() if k not in RECORD_KEYS}
        if isinstance(requested, dict) and "device" in requested:
            data["device"] = requested["device"]
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(sorted(map(repr, unknown)))}")
        if "variant" not in data:
            raise ConfigError("the config names no variant")
        return cls(**data)

    @classmethod
    def from_file(cls, path: Path) -> TrainConfig:
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"config {path} is not a JSON object")
        return cls.from_dict(data)


MAX_SEED = 2**63 - 1
AMP_MODES = ("auto", "off", "bf16", "fp16")
RECORD_KEYS = ("requested", "data")  # what config.json records beside the options


def run_record(resolved: TrainConfig, requested: TrainConfig, data: dict[str, Any],
               previous: dict[str, Any] | None = None) -> str:
    """The text of a run's config.json: ``resolved``'s fields, ``"requested"`` (``requested``'s values where they
    differ) and ``"data"``. On a resume, ``previous`` is the old record: its requests stay where the resolved value
    they led to is unchanged, so the file keeps saying what the run's first command asked for."""
    record = json.loads(json.dumps(dataclasses.asdict(resolved)))  # tuples as lists, as the file holds them
    asked = {k: v for k, v in json.loads(json.dumps(dataclasses.asdict(requested))).items() if record[k] != v}
    if previous:
        for key, value in (previous.get("requested") or {}).items():
            if key in record and key not in asked and previous.get(key) == record[key]:
                asked[key] = value
    record.update(requested=asked, data=data)
    return json.dumps(record, indent=2, sort_keys=True)


def _option(name: str) -> str:
    return name.replace("_", "-")


def _finite_real(value: object) -> float | None:
    """``value`` as a finite float, or None if it is not a real number (bools are not numbers here)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        real = float(value)
    except OverflowError:
        return None
    return real if math.isfinite(real) else None


def _check_int(name: str, value: object, optional: bool, low: int) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        kind = "a positive integer" if low == 1 else "a non-negative integer"
        raise ConfigError(f"{_option(name)} must be {kind}, got {value!r}")


def _check_text(name: str, value: object, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{_option(name)} must be a non-empty string, got {value!r}")


def default_network(spec: VariantSpec, registry: Registry, dataset: str | None) -> dict[str, Any]:
    """The network options a run of ``spec`` on ``dataset`` (None: the variant's own) starts from: the variant's
    defaults for its image networks; none for point data, whose networks take options of their own."""
    kind = registry.dataset((dataset or spec.defaults.dataset).split(":", 1)[0]).kind
    return dict(spec.defaults.network) if kind == "image" else {}


def resolve(config: TrainConfig, registry: Registry) -> TrainConfig:
    """Return ``config`` with every ``None`` default filled from the variant spec, checked against it, and
    ``--amp auto`` replaced by the precision it stands for on the device asked for."""
    from ganzoo.engine.device import resolve_amp, select_device  # torch: not at import, for a fast CLI start

    spec: VariantSpec = registry.variant(config.variant)
    d = spec.defaults
    dataset_name = (config.dataset or d.dataset).split(":", 1)[0]
    dataset = registry.dataset(dataset_name)
    filled = dataclasses.replace(
        config,
        dataset=config.dataset or d.dataset,
        steps=config.steps or (d.point_steps if dataset.kind == "points" and d.point_steps else d.steps),
        batch_size=config.batch_size or d.batch_size,
        image_size=config.image_size or d.image_size,
        z_dim=config.z_dim or d.z_dim,
        n_critic=config.n_critic or d.n_critic,
        loss=config.loss or spec.loss,
        regularisers=dict(spec.regularisers) if config.regularisers is None else config.regularisers,
        lr_g=config.lr_g or d.g_optimizer.lr,
        lr_d=config.lr_d or d.d_optimizer.lr,
        ema_decay=config.ema_decay if config.ema_decay is not None else (d.ema_decay or 0.0),
        lr_decay=config.lr_decay if config.lr_decay is not None else d.lr_decay,
        amp=resolve_amp(config.amp, select_device(config.device), dataset.kind),
    )
    registry.loss(filled.loss)  # unknown loss names fail here, with a suggestion
    for name in filled.regularisers:
        registry.regulariser(name)
    for name in filled.log:
        registry.logger(name).check(f"--log {name}")  # a missing extra fails now, before anything is written
    if dataset.kind not in spec.data_kinds:
        raise ConfigError(
            f"variant {spec.name!r} does not train on {dataset.kind} data ({dataset_name}); "
            f"it supports {', '.join(spec.data_kinds)}")
    if dataset.kind != "image" and config.channels is not None:
        raise ConfigError(f"--channels is for image data; {dataset_name} is {dataset.kind} data")
    if filled.network is None:
        filled = dataclasses.replace(filled, network=default_network(spec, registry, filled.dataset))
    filled = _resolve_tracking(filled, registry, dataset.kind)
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


def _resolve_tracking(config: TrainConfig, registry: Registry, data_kind: str) -> TrainConfig:
    """Fill the FID-tracking fields: on by default where a dataset-specific extractor exists, else off."""
    from ganzoo.engine.tracking import TRACK_SAMPLES, default_extractor, default_interval

    extractor = config.fid_extractor
    if data_kind != "image":
        if extractor is not None or config.fid_every:
            raise ConfigError("FID tracking is for image data; point data has no feature extractor")
        return dataclasses.replace(config, fid_every=0)
    if extractor is None:
        extractor = default_extractor(registry, config.dataset)
    if extractor is None:
        if config.fid_every:
            raise ConfigError(f"no feature extractor is registered for dataset {config.dataset!r}; name one with "
                              "--fid-extractor (e.g. inception, slow) or pass --fid-every 0")
        return dataclasses.replace(config, fid_every=0)
    spec = registry.extractor(extractor)
    every = default_interval(config.steps) if config.fid_every is None else config.fid_every
    samples = config.fid_samples or max(TRACK_SAMPLES, spec.feature_dim + 52)
    if samples <= spec.feature_dim:
        raise ConfigError(f"--fid-samples {samples} must exceed the {spec.feature_dim}-d features of "
                          f"{extractor!r}: FID needs more samples than dimensions")
    if every == 0:
        return dataclasses.replace(config, fid_every=0, fid_extractor=None, fid_samples=None)
    return dataclasses.replace(config, fid_every=every, fid_extractor=extractor, fid_samples=samples)
