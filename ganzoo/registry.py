"""What plugins register (variant, loss, dataset and extractor specs) and the name lookup over it."""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch

from ganzoo.errors import ConfigError, PluginError, UnknownNameError
from ganzoo.interfaces import Discriminator, Generator

if TYPE_CHECKING:
    from ganzoo.data.base import ArrayData, DataRequest

OptimizerName = Literal["adam", "rmsprop", "sgd"]


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer and its hyper-parameters, as a paper states them."""

    name: OptimizerName = "adam"
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)  # Adam only
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in ("adam", "rmsprop", "sgd"):
            raise ConfigError(f"unknown optimizer {self.name!r}; use adam, rmsprop or sgd")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"learning rate must be a positive number, got {self.lr}")

    def build(self, params: Iterator[torch.nn.Parameter]) -> torch.optim.Optimizer:
        """Return a fresh optimizer over ``params``."""
        if self.name == "adam":
            return torch.optim.Adam(params, lr=self.lr, betas=self.betas, weight_decay=self.weight_decay)
        if self.name == "rmsprop":
            return torch.optim.RMSprop(params, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(params, lr=self.lr, weight_decay=self.weight_decay)


@dataclass(frozen=True)
class TrainDefaults:
    """Per-variant training defaults; every field can be overridden from the CLI or ``ganzoo.train``."""

    steps: int = 2000  # generator steps
    batch_size: int = 64
    z_dim: int = 100
    n_critic: int = 1  # discriminator steps per generator step
    g_optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    d_optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    ema_decay: float | None = None  # exponential moving average of G's weights; None disables it
    dataset: str = "mnist"
    image_size: int = 32


@dataclass(frozen=True)
class VariantSpec:
    """A GAN variant: its two networks, its loss and how the paper trains it.

    ``generator(z_dim=..., data_shape=..., **options)`` and ``discriminator(data_shape=..., **options)`` build the
    networks; ``data_shape`` is ``(C, H, W)`` for images or ``(D,)`` for point data.
    """

    name: str
    summary: str
    generator: Callable[..., Generator]
    discriminator: Callable[..., Discriminator]
    loss: str
    paper: str = ""
    defaults: TrainDefaults = field(default_factory=TrainDefaults)
    image_sizes: tuple[int, ...] = (32,)
    channels: tuple[int, ...] = (1, 3)
    data_kinds: tuple[str, ...] = ("image",)  # "image" and/or "points"
    gradient_penalty: float = 0.0  # lambda of the WGAN-GP penalty on D; 0 disables it
    weight_clip: float | None = None  # clip every D parameter to [-c, c] after each D step
    sync_batchnorm: bool = True  # under DDP, convert BatchNorm to SyncBatchNorm

    def __post_init__(self) -> None:
        _check_name(self.name, "variant")
        if not callable(self.generator) or not callable(self.discriminator):
            raise PluginError(f"variant {self.name!r}: generator and discriminator must be callables")
        if not isinstance(self.loss, str) or not self.loss:
            raise PluginError(f"variant {self.name!r}: loss must be a loss name")
        if not isinstance(self.defaults, TrainDefaults):
            raise PluginError(f"variant {self.name!r}: defaults must be a TrainDefaults")
        bad_kinds = set(self.data_kinds) - {"image", "points"}
        if not self.data_kinds or bad_kinds:
            raise PluginError(f"variant {self.name!r}: data_kinds must be 'image' and/or 'points'")
        if "image" in self.data_kinds and (not self.image_sizes or not self.channels):
            raise PluginError(f"variant {self.name!r}: image variants must list image_sizes and channels")
        if self.gradient_penalty < 0 or (self.weight_clip is not None and self.weight_clip <= 0):
            raise PluginError(f"variant {self.name!r}: gradient_penalty and weight_clip must be positive")


@dataclass(frozen=True)
class LossSpec:
    """An adversarial loss as two pure functions of discriminator scores.

    ``d_loss(real_scores, fake_scores)`` is minimised by D; ``g_loss(fake_scores, real_scores)`` is minimised by G
    (``real_scores`` is None unless ``g_uses_real`` is set, so the engine skips that forward pass otherwise).
    """

    name: str
    summary: str
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    g_loss: Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]
    g_uses_real: bool = False

    def __post_init__(self) -> None:
        _check_name(self.name, "loss")
        if not callable(self.d_loss) or not callable(self.g_loss):
            raise PluginError(f"loss {self.name!r}: d_loss and g_loss must be callables")


@dataclass(frozen=True)
class DatasetSpec:
    """A dataset: ``load(request)`` returns one split in memory.

    ``kind`` is "image" (uint8 ``(N, C, H, W)``) or "points" (float ``(N, D)``). ``takes_argument`` marks names
    used as ``name:ARG`` (``folder:PATH``).
    """

    name: str
    summary: str
    load: Callable[[DataRequest], ArrayData]
    kind: str = "image"
    num_classes: int = 0  # 0 when unlabelled
    takes_argument: bool = False
    # optional dataset-specific score of generated samples, e.g. modes covered for a toy mixture:
    # evaluate(samples (N, *shape) as the model outputs them, seed) -> {metric name: value}
    evaluate: Callable[[torch.Tensor, int], dict[str, float]] | None = None

    def __post_init__(self) -> None:
        _check_name(self.name, "dataset")
        if not callable(self.load):
            raise PluginError(f"dataset {self.name!r}: load must be callable")
        if self.kind not in ("image", "points"):
            raise PluginError(f"dataset {self.name!r}: kind must be 'image' or 'points'")


@dataclass(frozen=True)
class ExtractorSpec:
    """A feature extractor for metrics: ``build(device=...)`` returns a ``ganzoo.metrics.FeatureExtractor``."""

    name: str
    summary: str
    build: Callable[..., Any]
    feature_dim: int
    num_classes: int = 0  # > 0 when the extractor also gives class logits (Inception Score, mode coverage)
    datasets: tuple[str, ...] = ()  # datasets it is meaningful for (e.g. ("mnist",)); empty: any image dataset
    version: str = ""  # bump when weights or preprocessing change: cached reference statistics are keyed on it

    def __post_init__(self) -> None:
        _check_name(self.name, "extractor")
        if not callable(self.build):
            raise PluginError(f"extractor {self.name!r}: build must be callable")


def _check_name(name: object, kind: str) -> None:
    if not isinstance(name, str) or not name or any(c.isspace() or c == ":" for c in name):
        raise PluginError(f"{kind} name must be a non-empty string without spaces or ':', got {name!r}")


@dataclass(frozen=True)
class Registered:
    """A spec and the plugin that registered it."""

    spec: Any
    plugin: str


_SPEC_KINDS: dict[type, str] = {
    VariantSpec: "variant",
    LossSpec: "loss",
    DatasetSpec: "dataset",
    ExtractorSpec: "extractor",
}


class Registry:
    """All registered specs by kind and name. Built by :func:`ganzoo.plugins.build_registry`."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Registered]] = {kind: {} for kind in _SPEC_KINDS.values()}
        self.load_errors: dict[str, str] = {}  # plugin name -> why it was skipped

    def add(self, spec: Any, plugin: str) -> None:
        """Add ``spec`` registered by ``plugin``; a name already taken raises :class:`PluginError`."""
        kind = _SPEC_KINDS.get(type(spec))
        if kind is None:
            raise PluginError(f"plugin {plugin!r} registered {type(spec).__name__}, not a ganzoo spec")
        table = self._items[kind]
        if spec.name in table:
            error = PluginError(f"{kind} {spec.name!r} is registered by two plugins, {table[spec.name].plugin!r} "
                                f"and {plugin!r}")
            error.plugins = (table[spec.name].plugin, plugin)
            raise error
        table[spec.name] = Registered(spec, plugin)

    def names(self, kind: str, pattern: str = "*") -> list[str]:
        """Sorted names of ``kind`` matching the glob ``pattern``."""
        return sorted(n for n in self._items[kind] if fnmatch.fnmatchcase(n, pattern))

    def entry(self, kind: str, name: str) -> Registered:
        """The registered spec and plugin for ``name``; unknown names raise with a 'did you mean'."""
        table = self._items[kind]
        if name in table:
            return table[name]
        hint = ""
        if self.load_errors:
            hint = "plugins that failed to load: " + ", ".join(sorted(self.load_errors)) + "; see `ganzoo plugins`"
        raise UnknownNameError(kind, name, table, hint)

    def get(self, kind: str, name: str) -> Any:
        """The spec registered under ``name``."""
        return self.entry(kind, name).spec

    def by_plugin(self) -> dict[str, dict[str, list[str]]]:
        """plugin -> kind -> names it registered."""
        out: dict[str, dict[str, list[str]]] = {}
        for kind, table in self._items.items():
            for name, reg in sorted(table.items()):
                out.setdefault(reg.plugin, {}).setdefault(kind, []).append(name)
        return out

    def variant(self, name: str) -> VariantSpec:
        return self.get("variant", name)

    def loss(self, name: str) -> LossSpec:
        return self.get("loss", name)

    def dataset(self, name: str) -> DatasetSpec:
        return self.get("dataset", name)

    def extractor(self, name: str) -> ExtractorSpec:
        return self.get("extractor", name)
