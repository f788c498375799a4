"""What plugins register: the variant, loss, regulariser, dataset, extractor, logger, exporter, pretrained-weights
and lab-layer specs, each checked when it is made, and the checks of the options they take. The lookup over them
is :mod:`ganzoo.registry`."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from ganzoo.errors import ConfigError, PluginError
from ganzoo.interfaces import Discriminator, Generator, LabProbe, PenaltyInputs

if TYPE_CHECKING:
    from pathlib import Path

    from ganzoo.data.base import ArrayData, DataRequest
    from ganzoo.loggers import Logger, LoggerContext

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

    steps: int = 2000  # generator steps (on image data)
    batch_size: int = 64
    z_dim: int = 100
    n_critic: int = 1  # discriminator steps per generator step
    g_optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    d_optimizer: OptimizerSpec = field(default_factory=OptimizerSpec)
    ema_decay: float | None = None  # exponential moving average of G's weights; None disables it
    lr_decay: float = 0.0  # the last fraction of the run over which both learning rates fall linearly to 0
    dataset: str = "mnist"
    image_size: int = 32
    # keyword options for the variant's network builders (widths, ...): what ganzoo chose where the paper fixes
    # nothing. Recorded in each run's config, so a run is rebuilt with the options it trained with.
    network: Mapping[str, Any] = field(default_factory=dict, hash=False)
    point_steps: int | None = None  # generator steps on 2-D point data, which needs far fewer; None: ``steps``

    def __post_init__(self) -> None:
        object.__setattr__(self, "network", check_network(self.network))


@dataclass(frozen=True)
class VariantSpec:
    """A GAN variant: its two networks, its loss and how the paper trains it.

    ``generator(z_dim=..., data_shape=..., **options)`` and ``discriminator(data_shape=..., **options)`` build the
    networks; ``data_shape`` is ``(C, H, W)`` for images or ``(D,)`` for point data. A ``conditional`` variant's
    builders also take ``num_classes=K`` (from the dataset), and its networks take labels: ``G(z, y)``, ``D(x, y)``.
    Its generated batches get labels drawn uniformly, or from the training set's class frequencies when
    ``fake_labels="data"``.
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
    conditional: bool = False  # class-conditional: the networks take labels, the dataset must provide them
    fake_labels: Literal["uniform", "data"] = "uniform"  # how generated batches' labels are drawn
    # registered regulariser name -> its value (a penalty's weight, a clip's bound), applied in this order
    regularisers: Mapping[str, float] = field(default_factory=dict, hash=False)
    sync_batchnorm: bool = True  # under DDP, convert BatchNorm to SyncBatchNorm
    # shorthands kept for plugins written before regularisers were registered components: they add
    # "gradient_penalty" and "weight_clip" to ``regularisers``
    gradient_penalty: float = 0.0
    weight_clip: float | None = None

    def __post_init__(self) -> None:
        _check_name(self.name, "variant")
        if self.name != self.name.lower():  # users type variant names; one spelling each
            raise PluginError(f"variant name must be lowercase, got {self.name!r}")
        if not callable(self.generator) or not callable(self.discriminator):
            raise PluginError(f"variant {self.name!r}: generator and discriminator must be callables")
        if not isinstance(self.loss, str) or not self.loss:
            raise PluginError(f"variant {self.name!r}: loss must be a loss name")
        if not isinstance(self.defaults, TrainDefaults):
            raise PluginError(f"variant {self.name!r}: defaults must be a TrainDefaults")
        if not isinstance(self.conditional, bool) or self.fake_labels not in ("uniform", "data"):
            raise PluginError(f"variant {self.name!r}: conditional must be a bool and fake_labels 'uniform' or "
                              "'data'")
        bad_kinds = set(self.data_kinds) - {"image", "points"}
        if not self.data_kinds or bad_kinds:
            raise PluginError(f"variant {self.name!r}: data_kinds must be 'image' and/or 'points'")
        if "image" in self.data_kinds and (not self.image_sizes or not self.channels):
            raise PluginError(f"variant {self.name!r}: image variants must list image_sizes and channels")
        if self.gradient_penalty < 0 or (self.weight_clip is not None and self.weight_clip <= 0):
            raise PluginError(f"variant {self.name!r}: gradient_penalty and weight_clip must be positive")
        if not isinstance(self.regularisers, Mapping):
            raise PluginError(f"variant {self.name!r}: regularisers must map regulariser names to values")
        merged = dict(self.regularisers)
        if self.gradient_penalty:
            merged.setdefault("gradient_penalty", self.gradient_penalty)
        if self.weight_clip is not None:
            merged.setdefault("weight_clip", self.weight_clip)
        try:
            object.__setattr__(self, "regularisers", check_regularisers(merged))
        except ConfigError as exc:
            raise PluginError(f"variant {self.name!r}: {exc}") from None


def check_network(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` as a plain dict of network-builder options: string keys, JSON scalar values (so config.json holds
    them exactly); else :class:`ConfigError`."""
    if not isinstance(options, Mapping):
        raise ConfigError(f"network options must map option names to values, got {options!r}")
    out: dict[str, Any] = {}
    for key, value in options.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise ConfigError(f"network option names must be identifiers, got {key!r}")
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise ConfigError(f"network option {key!r} must be a number, a string, true/false or null, got {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"network option {key!r} must be finite, got {value!r}")
        out[key] = value
    return out


def network_edits(edits: Iterable[str]) -> dict[str, Any]:
    """``--net`` edits ``KEY=VALUE`` (VALUE in JSON) as network options; a malformed edit is a :class:`ConfigError`
    naming it."""
    out: dict[str, Any] = {}
    for edit in edits:
        key, sep, value = edit.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{edit!r} is not KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            raise ConfigError(f"{edit!r}: {value!r} is not a JSON value (a number, true/false, null, or a string in "
                              "double quotes)") from None
    return out


def edited_network(defaults: Mapping[str, Any], edits: Iterable[str]) -> dict[str, Any] | None:
    """A variant's default network options changed by ``--net KEY=VALUE`` edits; None when there are none (the
    variant's own)."""
    edits = tuple(edits)
    return {**defaults, **network_edits(edits)} if edits else None


def edited_regularisers(defaults: Mapping[str, float], edits: Iterable[str]) -> dict[str, float] | None:
    """A variant's regularisers changed by ``--reg`` edits: ``NAME=VALUE`` adds or changes one, ``NAME=off`` drops
    one, ``none`` drops all. None when there are no edits (the variant's own); a malformed edit is a
    :class:`ConfigError` naming it."""
    edits = tuple(edits)
    if not edits:
        return None
    regs = dict(defaults)
    for edit in edits:
        if edit.strip().lower() == "none":
            regs.clear()
            continue
        name, sep, value = edit.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"{edit!r} is not NAME=VALUE (or NAME=off, or none)")
        if value.strip().lower() == "off":
            regs.pop(name, None)
            continue
        try:
            regs[name] = float(value)
        except ValueError:
            raise ConfigError(f"{edit!r}: {value!r} is not a number") from None
    return regs


def check_regularisers(values: Mapping[str, Any]) -> dict[str, float]:
    """``values`` as a plain {name: float} dict, every value a finite positive number; else :class:`ConfigError`."""
    out: dict[str, float] = {}
    for name, value in values.items():
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"regularisers: names must be non-empty strings, got {name!r}")
        try:
            number = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else math.nan
        except OverflowError:
            number = math.inf
        if not (math.isfinite(number) and number > 0):
            raise ConfigError(f"regularisers: {name!r} needs a positive number, got {value!r}")
        out[name] = number
    return out


@dataclass(frozen=True)
class LossSpec:
    """An adversarial loss as two pure functions of discriminator scores (implements
    :class:`ganzoo.interfaces.Loss`).

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
class RegulariserSpec:
    """A registered regulariser (implements :class:`ganzoo.interfaces.Regulariser`): one or more of a penalty on D's
    loss, a constraint on D's weights after its step, and an augmentation of what D sees.

    ``penalty(inputs)`` returns an unweighted scalar; the engine adds ``value * every * penalty`` to D's loss on
    every ``every``-th D step; ``g_penalty(inputs)`` likewise to G's loss on every ``every``-th G step.
    ``after_step(discriminator, value)`` changes D's weights in place (under ``torch.no_grad``) and should be a
    projection (applying it twice equals once). ``augment(images)`` must be differentiable (G's gradient flows
    through it).
    """

    name: str
    summary: str
    penalty: Callable[[PenaltyInputs], torch.Tensor] | None = None
    g_penalty: Callable[[PenaltyInputs], torch.Tensor] | None = None
    after_step: Callable[[nn.Module, float], None] | None = None
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None
    every: int = 1
    paper: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name, "regulariser")
        parts = (self.penalty, self.g_penalty, self.after_step, self.augment)
        if not any(part is not None for part in parts) or any(p is not None and not callable(p) for p in parts):
            raise PluginError(f"regulariser {self.name!r}: give a callable penalty, g_penalty, after_step and/or "
                              "augment")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 1:
            raise PluginError(f"regulariser {self.name!r}: every must be a positive integer")


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
    num_classes: int = 0  # 0 when unlabelled (or when, like folder:PATH, the count depends on the argument)
    class_names: tuple[str, ...] = ()  # one per class when fixed, e.g. CIFAR-10's "airplane", ...
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


def _check_requires(spec: Any, kind: str) -> None:
    if isinstance(spec.requires, str) or not all(isinstance(m, str) and m for m in spec.requires):
        raise PluginError(f"{kind} {spec.name!r}: requires must be a tuple of module names")


def _missing(spec: Any, what: str) -> None:
    """Raise :class:`ConfigError` naming the ``pip install`` to run when a module ``spec`` needs is not installed."""
    import importlib.util

    missing = []
    for module in spec.requires:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(module)
    if missing:
        how = spec.install or f"pip install {' '.join(missing)}"
        raise ConfigError(f"{what} needs {', '.join(missing)}, which is not installed: {how}")


@dataclass(frozen=True)
class LoggerSpec:
    """A training logger: ``create(context)`` returns a :class:`ganzoo.loggers.Logger` for one run (rank 0 only).

    ``always`` loggers run in every run (the built-in metrics.jsonl writer); the others are chosen with ``--log``.
    ``requires`` names the modules it imports and ``install`` how to get them (``pip install 'ganzoo[tensorboard]'``),
    so a missing one is a one-line error before training starts.
    """

    name: str
    summary: str
    create: Callable[[LoggerContext], Logger]
    requires: tuple[str, ...] = ()
    install: str = ""
    always: bool = False

    def __post_init__(self) -> None:
        _check_name(self.name, "logger")
        if not callable(self.create):
            raise PluginError(f"logger {self.name!r}: create must be callable")
        _check_requires(self, "logger")

    def check(self, what: str) -> None:
        """Raise :class:`ConfigError` naming the ``pip install`` to run when a required module is missing."""
        _missing(self, what)


@dataclass(frozen=True)
class PretrainedSpec:
    """Trained weights of a variant, in the Hugging Face Hub's model-repo layout (``model.safetensors``,
    ``config.json``, ``README.md``; see :mod:`ganzoo.pretrained`). Registered as ``VARIANT/WEIGHTS``
    (``dcgan/mnist``) and loaded with ``ganzoo.load("pretrained:dcgan/mnist")``.

    ``source`` is where the folder lives: ``"PACKAGE:path/inside"`` for files installed with a package (read with
    ``importlib.resources``), an absolute path, or a Hub repository ``"hf://owner/name"`` (downloaded on first use
    with the optional ``huggingface_hub``). ``scores`` are the headline numbers ``ganzoo list`` and ``ganzoo info``
    show (e.g. ``{"inception FID": 14.2}``).
    """

    variant: str
    weights: str
    source: str
    summary: str = ""
    scores: Mapping[str, float] = field(default_factory=dict, hash=False)

    @property
    def name(self) -> str:
        return f"{self.variant}/{self.weights}"

    def __post_init__(self) -> None:
        _check_name(self.variant, "variant")
        _check_name(self.weights, "pretrained weights")
        if "/" in self.weights or not isinstance(self.source, str) or not self.source.strip():
            raise PluginError(f"pretrained {self.variant}/{self.weights}: give a name without '/' and a source")
        if not isinstance(self.scores, Mapping):
            raise PluginError(f"pretrained {self.name}: scores must map score names to numbers")


@dataclass(frozen=True)
class ExporterSpec:
    """A file format for ``ganzoo export``: ``export(generator, path, info)`` writes ``generator`` (eval mode, on
    CPU, taking ``z`` of shape ``(B, z_dim)`` with any ``B``, and int64 labels ``(B,)`` when
    ``generator.conditional``) to ``path``; ``info`` holds strings describing the run (variant, step, z_dim,
    num_classes, data_shape, inputs and output range) for the format's metadata. ``path`` is a temporary file that
    ganzoo renames to the destination afterwards, so the destination is never half-written; it does not end in
    ``suffix`` (the default file extension), so write to exactly that path.
    """

    name: str
    summary: str
    export: Callable[[Generator, Path, dict[str, str]], None]
    suffix: str
    requires: tuple[str, ...] = ()
    install: str = ""

    def __post_init__(self) -> None:
        _check_name(self.name, "exporter")
        if not callable(self.export):
            raise PluginError(f"exporter {self.name!r}: export must be callable")
        if not isinstance(self.suffix, str) or not self.suffix.startswith("."):
            raise PluginError(f"exporter {self.name!r}: suffix must be a file extension such as '.onnx'")
        _check_requires(self, "exporter")

    def check(self, what: str) -> None:
        """Raise :class:`ConfigError` naming the ``pip install`` to run when a required module is missing."""
        _missing(self, what)


LAB_LAYER_KINDS = ("heatmap", "mesh", "points", "arrows")  # also the order they are drawn in, bottom to top


@dataclass(frozen=True)
class LabLayerSpec:
    """A layer of the plane ``ganzoo lab`` draws: ``compute(probe)`` at every recorded step, drawn as ``kind``.

    What ``compute`` returns for each kind (a float tensor, on any device):

    - ``"points"``: ``(N, 2)`` positions, drawn as dots;
    - ``"heatmap"``: ``(H * W,)`` one value per point of ``probe.grid``, drawn behind everything, from the lowest value
      of the frame to the highest;
    - ``"arrows"``: ``(N, 4)``: origin ``x, y`` and direction ``dx, dy``; the longest arrow of a frame gets a fixed
      length on screen and the others their share of it;
    - ``"mesh"``: ``(R, C, 2)`` positions, drawn as the lines joining neighbours along rows and columns.

    ``colour`` is a CSS colour; a heatmap takes two, low and high (``"#762a83 #1b7837"``). A ``static`` layer is
    computed once, at step 0 (the real data); ``visible`` says whether the page opens with it shown.
    """

    name: str
    summary: str  # the legend's label
    kind: str
    compute: Callable[[LabProbe], torch.Tensor]
    colour: str = "#444444"
    static: bool = False
    visible: bool = True

    def __post_init__(self) -> None:
        _check_name(self.name, "lab layer")
        if self.kind not in LAB_LAYER_KINDS:
            raise PluginError(f"lab layer {self.name!r}: kind must be one of {', '.join(LAB_LAYER_KINDS)}")
        if not callable(self.compute):
            raise PluginError(f"lab layer {self.name!r}: compute must be callable")
        if not isinstance(self.colour, str) or not self.colour.strip() or any(c in self.colour for c in "<>\"'"):
            raise PluginError(f"lab layer {self.name!r}: colour must be a CSS colour such as '#1b7837'")


def _check_name(name: object, kind: str) -> None:
    if not isinstance(name, str) or not name or any(c.isspace() or c == ":" for c in name):
        raise PluginError(f"{kind} name must be a non-empty string without spaces or ':', got {name!r}")
