"""The Python API: what the CLI calls, and what users script against."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.config import TrainConfig
from ganzoo.engine.device import select_device
from ganzoo.engine.events import Events
from ganzoo.engine.layout import prefer_channels_last
from ganzoo.engine.rundir import RunDir, find_run
from ganzoo.engine.training import train as _train
from ganzoo.errors import CheckpointError, ConfigError, UnknownNameError
from ganzoo.interfaces import Discriminator, Generator, generate
from ganzoo.latent import check_truncation, noise, noise_batches, walk
from ganzoo.models import build, create
from ganzoo.progress import ProgressFactory, no_progress
from ganzoo.registry import Registry
from ganzoo.specs import VariantSpec

if TYPE_CHECKING:
    from ganzoo.bench import BenchResult

__all__ = ["LoadedRun", "bench", "create", "export", "fid", "interpolate", "iter_samples", "list_variants", "load",
           "sample", "train"]


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
    if isinstance(options.get("init"), Path):
        options["init"] = str(options["init"])
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
    class_names: tuple[str, ...] = ()  # the training data's class names, index = label (when it had them)

    @property
    def sampler(self) -> Generator:
        """The EMA generator when the run kept one, else the raw generator."""
        return self.ema_generator or self.generator

    @property
    def num_classes(self) -> int:
        """How many classes the run's generator is conditioned on (0: unconditional)."""
        return self.generator.num_classes


def load(path: str | Path, device: str = "cpu", registry: Registry | None = None) -> LoadedRun:
    """Load a run directory (its newest valid checkpoint), one checkpoint file, or trained weights
    (``"pretrained:dcgan/mnist"``, ``"hf://owner/name"``, a model folder; :mod:`ganzoo.pretrained`), in eval mode."""
    from ganzoo.pretrained import PRETRAINED, model_path

    registry = _registry(registry)
    source = path
    path = model_path(source, registry) or Path(source)
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
            # the options it trained with; none recorded (runs before ganzoo 0.2): the builders' own defaults
            options = config.network or {}
            g, d = build(spec, data_shape, int(meta["z_dim"]), classes, **options)
            ckpt.load_module("G", g, tensors, candidate)
            ckpt.load_module("D", d, tensors, candidate)
            ema = None
            if any(k.startswith("G_ema.") for k in tensors):
                ema, _ = build(spec, data_shape, int(meta["z_dim"]), classes, **options)
                ckpt.load_module("G_ema", ema, tensors, candidate)
        except KeyError as exc:  # the metadata ganzoo writes is missing: some other program's safetensors file
            problems.append(f"{candidate.name}: not a ganzoo checkpoint (its metadata has no {exc.args[0]!r})")
            continue
        except (CheckpointError, ConfigError, ValueError) as exc:
            problems.append(f"{candidate.name}: {exc}")
            continue
        target = select_device(device)
        for net in (g, d, ema):
            if net is not None:
                net.to(target).eval()
        # the engine's layout rule (channels-last for convolutional networks on CPU and CUDA): the kernels training
        # used, and faster sampling
        prefer_channels_last(target, g, d, data_shape, int(meta["z_dim"]), *([ema] if ema is not None else []))
        registered = str(source)[len(PRETRAINED):].split("/", 1)[0] if str(source).startswith(PRETRAINED) else None
        if registered is not None and registered != spec.name:
            raise CheckpointError(f"{source} is registered for {registered!r} but holds {spec.name!r} weights "
                                  f"({candidate}); the plugin that registers it is wrong")
        names = tuple(json.loads(meta.get("class_names", "[]")))
        if classes and len(names) != classes:
            names = tuple(str(i) for i in range(classes))
        return LoadedRun(spec, config, int(meta["step"]), g, d, ema, candidate, problems, names)
    if path.is_file():  # the user named this one file: the error is about it, not about its folder
        reason = problems[0].split(": ", 1)[1]
        raise CheckpointError(reason if reason.startswith(str(path)) else f"{path}: {reason}")
    raise CheckpointError(f"no loadable checkpoint in {run.root}: {'; '.join(problems)}")


Labels = int | Sequence[int] | torch.Tensor


def sample_labels(run: LoadedRun, n: int, labels: Labels | None = None, seed: int = 0) -> torch.Tensor | None:
    """The int64 labels ``(n,)`` a conditional run samples with: ``labels`` checked and broadcast (one class for
    all, or one per sample), or, when None, classes drawn uniformly with ``seed``. None for an unconditional run,
    which refuses labels."""
    classes = run.num_classes
    if not classes:
        if labels is not None:
            raise ConfigError(f"this {run.spec.name!r} run is unconditional: it takes no class labels")
        return None
    if labels is None:
        return torch.randint(classes, (n,), generator=_label_generator(seed))
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


def _label_generator(seed: int) -> torch.Generator:
    """The stream drawn labels come from: apart from the noise's (``seed``), so labels never shift the noise."""
    return torch.Generator().manual_seed(seed + 1)


def _label_batches(run: LoadedRun, n: int, labels: Labels | None, seed: int,
                   batch_size: int) -> Iterator[torch.Tensor | None]:
    """:func:`sample_labels` ``batch_size`` at a time (checked now); drawn labels are drawn per batch, the same
    ones as in one draw."""
    starts = range(0, n, batch_size)
    if labels is None and run.num_classes:
        generator = _label_generator(seed)
        return (torch.randint(run.num_classes, (min(batch_size, n - s),), generator=generator) for s in starts)
    y = sample_labels(run, n, labels, seed)
    return (None if y is None else y[s:s + batch_size] for s in starts)


@torch.no_grad()
def iter_samples(run: LoadedRun, n: int, seed: int = 0, batch_size: int = 256, *,
                 truncation: float | None = None, labels: Labels | None = None) -> Iterator[torch.Tensor]:
    """:func:`sample`'s ``n`` samples, ``batch_size`` at a time, the same whatever ``batch_size`` is. The noise and
    drawn labels are made per batch too, so memory holds one batch however large ``n`` is."""
    g = run.sampler
    z_batches = noise_batches(n, g.z_dim, seed, batch_size, truncation)
    y_batches = _label_batches(run, n, labels, seed, batch_size)
    device = next(g.parameters()).device
    for z, y in zip(z_batches, y_batches, strict=True):
        yield generate(g, z.to(device), None if y is None else y.to(device)).float().cpu().contiguous()


def sample(run: LoadedRun, n: int, seed: int = 0, batch_size: int = 256, *,
           truncation: float | None = None, labels: Labels | None = None) -> torch.Tensor:
    """``n`` samples (CPU float tensor) from the run's sampling generator with noise seeded by ``seed``.

    ``truncation`` (psi in (0, 1]) applies the truncation trick: ``z`` scaled toward the prior's mean by psi
    (see :mod:`ganzoo.latent`). Sample ``i`` depends only on ``seed`` and ``i``, never on ``n`` or ``batch_size``.
    For a conditional run, ``labels`` picks the classes: one for every sample (``labels=7``) or one per sample;
    None draws them uniformly (seeded). An unconditional run refuses labels.
    """
    chunks = list(iter_samples(run, n, seed, batch_size, truncation=truncation, labels=labels))
    return torch.cat(chunks).contiguous() if chunks else torch.empty(0, *run.sampler.data_shape)


@torch.no_grad()
def interpolate(run: LoadedRun, seed_a: int, seed_b: int, frames: int = 8, *,
                truncation: float | None = None, label: int | None = None) -> torch.Tensor:
    """A latent walk: ``frames`` samples along the great circle (slerp) from seed A's noise to seed B's.

    The first frame is ``sample(run, 1, seed=seed_a)`` and the last ``sample(run, 1, seed=seed_b)`` (with the same
    ``truncation``). A conditional run walks at one fixed class, ``label`` (required for it). Returns a CPU float
    tensor ``(frames, *data_shape)``.
    """
    g = run.sampler
    if run.num_classes and label is None:
        raise ConfigError("a conditional run interpolates at a fixed class: give a class (--class)")
    psi = check_truncation(truncation)
    z = walk(noise(1, g.z_dim, seed_a, psi)[0], noise(1, g.z_dim, seed_b, psi)[0], frames)
    y = sample_labels(run, frames, label, seed_a)
    device = next(g.parameters()).device
    return generate(g, z.to(device), None if y is None else y.to(device)).float().cpu().contiguous()


def fid(a: str | Path, b: str | Path, *, extractor: str = "inception", num_samples: int = 10000,
        device: str = "auto", seed: int = 0, image_size: int | None = None, save_stats: str | Path | None = None,
        registry: Registry | None = None, progress: ProgressFactory = no_progress) -> dict[str, Any]:
    """FID (and KID, precision/recall, IS where the features allow) of source ``b`` against source ``a``.

    Each source is an image folder, an ``.npz`` of statistics, a run directory or checkpoint, or a dataset
    (``"mnist:test"``); see :mod:`ganzoo.metrics.sources` and ``ganzoo fid``. Returns the scores and where they
    came from (``"sources"``).
    """
    from ganzoo.metrics.sources import compare

    return compare(a, b, extractor, num_samples, _registry(registry), device, save_stats, seed=seed,
                   image_size=image_size, progress=progress)


def bench(variant: str | None = None, *, registry: Registry | None = None, events: Events | None = None,
          progress: ProgressFactory = no_progress, **options: Any) -> BenchResult:
    """Train (or, with ``run=DIR``, load) ``variant``, sample it and score it; writes the report and returns
    where it went and the numbers. ``options`` are :class:`ganzoo.bench.BenchConfig` fields (``steps``,
    ``dataset``, ``seed``, ``num_samples``, ``out``...)."""
    from ganzoo.bench import BenchConfig, run_bench

    options["extractors"] = tuple(options.get("extractors", ()))
    return run_bench(BenchConfig(variant=variant, **options), registry=_registry(registry), events=events,
                     progress=progress)


def export(source: str | Path, out: str | Path | None = None, *, format: str | None = None,
           registry: Registry | None = None, dtype: str | None = None, push: str | None = None) -> Path:
    """Write the sampling generator (the EMA one when the run kept one) of run or checkpoint ``source`` in
    ``format`` (a registered exporter: "onnx", "torchscript", or a plugin's) to ``out``; returns the path.
    Without ``format`` it is the exporter whose suffix ``out`` has (``.onnx``, ``.pt``), or onnx without ``out``.

    The exported model takes ``z`` of shape ``(B, z_dim)`` for any ``B``, and a class-conditional generator also
    int64 ``labels`` of shape ``(B,)`` (inputs named ``z`` and ``labels``). ``out`` defaults to
    ``generator<suffix>`` in the run directory.

    ``format="hub"`` writes ganzoo's own model folder instead, in the Hugging Face Hub's model-repo layout
    (``model.safetensors`` with G, the EMA G and D stored as ``dtype``, float16 by default, ``config.json``, a
    ``README.md`` model card; :mod:`ganzoo.pretrained`), which ``ganzoo.load`` reads back;
    ``push="hf://owner/name"`` then uploads it (needs ``huggingface_hub`` and a token). ``dtype`` is refused for
    the other formats, which export float32.
    """
    from ganzoo.engine.checkpoint import atomic_write, check_writable

    registry = _registry(registry)
    if format != "hub" and push is not None:
        raise ConfigError("--push uploads a model folder: use it with --format hub")
    if format != "hub" and dtype is not None:
        others = f"--format {format} exports" if format else "the other formats export"
        raise ConfigError(f"--dtype sets the stored weights' type of --format hub; {others} the generator in float32")
    if format == "hub":
        return _export_hub(source, out, registry, dtype or "float16", push)
    format = format or export_format(out, registry)
    if format not in registry.names("exporter"):
        raise UnknownNameError("exporter", format, [*registry.names("exporter"), "hub"])
    spec = registry.exporter(format)
    spec.check(f"--format {format}")
    from ganzoo.pretrained import model_path

    if out is None and model_path(source, registry) is not None:
        raise ConfigError(f"{source} is trained weights, not a run directory: give the file to write "
                          f"(e.g. generator{spec.suffix})")
    run = load(source, device="cpu", registry=registry)
    target = Path(out) if out is not None else find_run(Path(source)).root / f"generator{spec.suffix}"
    if target.is_dir():
        raise ConfigError(f"{target} is a folder; give the file to write (e.g. {target / ('generator' + spec.suffix)})")
    if not target.parent.is_dir():
        raise ConfigError(f"output directory {target.parent} does not exist")
    check_writable(target, "output")
    g = run.sampler.to(memory_format=torch.contiguous_format).eval()
    inputs = "z ~ N(0, I) of shape (batch, z_dim)"
    if g.conditional:
        inputs += f" and int64 labels of shape (batch,) in [0, {g.num_classes})"
    info = {"ganzoo_variant": run.spec.name, "ganzoo_step": str(run.step), "ganzoo_z_dim": str(g.z_dim),
            "ganzoo_num_classes": str(g.num_classes), "ganzoo_class_names": json.dumps(list(run.class_names)),
            "ganzoo_data_shape": json.dumps(list(g.data_shape)),
            "ganzoo_generator": "ema" if run.ema_generator is not None else "raw",
            "ganzoo_io": f"{inputs} -> samples (batch, *data_shape), images in [-1, 1]"}
    atomic_write(target, lambda tmp: spec.export(g, Path(tmp), info))
    return target


def export_format(out: str | Path | None, registry: Registry | None = None) -> str:
    """The format :func:`export` picks when given none: the exporter whose file suffix ``out`` ends in (``.onnx``,
    ``.pt`` or a plugin's; the longest wins, case aside), onnx when there is no ``out``; a :class:`ConfigError`
    when ``out`` is a folder or its suffix names no exporter."""
    registry = _registry(registry)
    suffixes = {name: registry.exporter(name).suffix for name in registry.names("exporter")}
    if out is None or not suffixes:
        return "onnx"  # without exporters, export() itself names what is missing
    if Path(out).is_dir() or str(out).endswith(("/", os.sep)):
        raise ConfigError(f"{out} is a folder: give the file to write (e.g. {Path(out) / 'generator.onnx'}), or "
                          "--format hub for a model folder")
    name = Path(out).name.lower()
    matches = [n for n, known in suffixes.items() if name.endswith(known.lower())]
    longest = max((len(suffixes[n]) for n in matches), default=0)
    matches = [n for n in matches if len(suffixes[n]) == longest]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(f"{suffixes[matches[0]]} is written by several exporters ({', '.join(matches)}): "
                          "choose one with --format")
    choices = [f"{known} ({n})" for n, known in suffixes.items()]
    known = " or ".join([", ".join(choices[:-1]), choices[-1]] if len(choices) > 1 else choices)
    suffix = Path(out).suffix
    what = f"the suffix {suffix}" if suffix else "no suffix"
    raise ConfigError(f"{out} has {what}, so its format is unclear: end it in {known}, or give --format "
                      "(hub for a model folder)")


def _export_hub(source: str | Path, out: str | Path | None, registry: Registry, dtype: str,
                push: str | None) -> Path:
    from ganzoo.pretrained import HUB, HUB_INSTALL, write_model

    dtypes = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
    if dtype not in dtypes:
        raise ConfigError(f"--dtype must be one of {', '.join(dtypes)}, got {dtype!r}")
    if push is not None and (not push.startswith(HUB) or "@" in push or push[len(HUB):].count("/") != 1
                             or not all(push[len(HUB):].split("/"))):
        raise ConfigError(f"--push takes hf://OWNER/NAME, got {push!r}")
    if out is None:
        raise ConfigError("--format hub writes a folder: give OUT_DIR")
    run = load(source, device="cpu", registry=registry)
    folder = write_model(run, Path(out), dtypes[dtype])
    if push is not None:
        try:
            from huggingface_hub import HfApi
        except ImportError:
            raise ConfigError(f"--push needs huggingface_hub, which is not installed: {HUB_INSTALL}") from None
        repo = push[len(HUB):]
        api = HfApi()
        try:
            api.create_repo(repo, exist_ok=True)
            api.upload_folder(folder_path=str(folder), repo_id=repo, commit_message=f"ganzoo {run.spec.name}")
        except Exception as exc:  # noqa: BLE001 - network, auth and permission errors come in many types
            raise ConfigError(f"cannot push to {push} ({' '.join(str(exc).split())[:200]}); the folder is kept at "
                              f"{folder}") from None
    return folder
