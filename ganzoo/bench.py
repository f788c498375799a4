"""The benchmark harness: train (or load) a variant, sample it, score it against held-out data, write a report.

Every score comes with two references at the same sample count so a reader can interpret it: the *floor*
(real training images against the real test images: the best a perfect generator could expect at this N) and the
*baseline* (the same network at step 0, untrained, from the same seed). Both are the same for every run that shares
their inputs, so they are computed once and cached (:func:`ganzoo.cache.cached_score`); only the trained generator
is scored afresh.
"""

from __future__ import annotations

import dataclasses
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganzoo import __version__
from ganzoo.bench_folder import check_report_folder
from ganzoo.bench_run import train_or_reuse, train_seconds
from ganzoo.bench_sampling import balanced_labels, draw_samples, image_batches
from ganzoo.cache import cached_score
from ganzoo.data import load_dataset, parse_dataset_name
from ganzoo.engine import Events, RunDir, TrainConfig, find_run, resolve
from ganzoo.engine.config import default_network
from ganzoo.engine.device import select_device
from ganzoo.engine.loop import seed_everything
from ganzoo.errors import ConfigError
from ganzoo.machine import describe
from ganzoo.models import build
from ganzoo.output_folder import left_as_found
from ganzoo.progress import ProgressFactory, no_progress
from ganzoo.recipe import recipe_departures
from ganzoo.registry import Registry
from ganzoo.specs import DatasetSpec, edited_network, edited_regularisers, network_edits

DEFAULT_IMAGE_SAMPLES = 2100  # > 2048, the Inception feature dimension: FID needs more samples than dimensions
DEFAULT_POINT_SAMPLES = 2500


@dataclass(frozen=True)
class BenchConfig:
    """What ``ganzoo bench`` was asked to do; fields map 1:1 to its options."""

    variant: str | None = None
    dataset: str | None = None
    data_dir: str | None = None
    steps: int | None = None
    batch_size: int | None = None
    seed: int | None = None  # training seed; None: 0, or the seed the weights of ``run`` / ``checkpoint`` trained with
    device: str = "auto"
    amp: str = "auto"  # training precision (scoring is always float32)
    lr_g: float | None = None  # the recipe: None (or no edits) keeps the variant's
    lr_d: float | None = None
    ema_decay: float | None = None
    lr_decay: float | None = None
    network: tuple[str, ...] = ()  # --net KEY=VALUE edits of the variant's network options
    regularisers: tuple[str, ...] = ()  # --reg NAME=VALUE / NAME=off / none edits of the variant's regularisers
    num_samples: int | None = None
    extractors: tuple[str, ...] = ()
    run: str | None = None  # score this run directory instead of training
    checkpoint: str | None = None  # score this checkpoint file instead of training
    out: str | None = None

    def __post_init__(self) -> None:
        if self.num_samples is not None and self.num_samples <= 0:
            raise ConfigError(f"--num-samples must be a positive integer, got {self.num_samples}")
        if self.run and self.checkpoint:
            raise ConfigError("--run and --checkpoint each name the weights to score: give one")
        training = [flag for flag, value in (("--steps", self.steps), ("--batch-size", self.batch_size),
                                             ("--amp", None if self.amp == "auto" else self.amp),
                                             ("--lr-g", self.lr_g), ("--lr-d", self.lr_d),
                                             ("--ema-decay", self.ema_decay), ("--lr-decay", self.lr_decay),
                                             ("--net", self.network or None), ("--reg", self.regularisers or None))
                    if value is not None]
        if (self.run or self.checkpoint) and training:
            raise ConfigError(f"scoring given weights trains nothing: {', '.join(training)} "
                              f"{'does' if len(training) == 1 else 'do'} not apply")
        for flag, parse in (("--net", lambda: network_edits(self.network)),
                            ("--reg", lambda: edited_regularisers({}, self.regularisers))):
            try:  # the form of each edit, before anything runs; whether the variant has it, when it trains
                parse()
            except ConfigError as exc:
                raise ConfigError(f"{flag}: {exc}") from None


@dataclass
class BenchResult:
    """Where the report went and the headline numbers."""

    out: Path
    metrics: dict[str, Any]
    lab: Any = None  # the lab recording (ganzoo.lab.Recording) of a trained point run, for comparison pages

    @property
    def report_md(self) -> Path:
        return self.out / "report.md"

    def summary(self) -> str:
        m = self.metrics
        parts = [f"{m['variant']} on {m['dataset']} ({m['train']['steps']} steps, N={m['num_samples']})"]
        for name, block in m.get("scores", {}).items():
            final, base, floor = block["final"], block["step0"], block["floor"]
            if final.get("fid") is not None:
                untrained = f"untrained {base['fid']:.2f}, " if base.get("fid") is not None else ""
                parts.append(f"{name} FID {final['fid']:.2f} ({untrained}real-vs-real {floor['fid']:.2f})")
        for key, value in m.get("toy", {}).get("final", {}).items():
            parts.append(f"{key} {value:.3g}" if isinstance(value, float) else f"{key} {value}")
        conditional = m.get("conditional") or {}
        if conditional.get("class_accuracy"):
            parts.append(f"class accuracy {conditional['class_accuracy']['accuracy']:.2%}")
        for extractor, block in (conditional.get("intra_fid") or {}).items():
            parts.append(f"{extractor} intra-FID {block['intra_fid']:.2f}")
        if conditional.get("cas"):
            parts.append(f"CAS {conditional['cas']['cas']:.2%} (real {conditional['cas']['real']:.2%})")
        return "; ".join(parts)


class _Clock:
    """Wall time per named phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def phase(self, name: str):
        clock = self

        class _Phase:
            def __enter__(self):
                self.t0 = time.perf_counter()

            def __exit__(self, *exc):
                clock.seconds[name] = clock.seconds.get(name, 0.0) + time.perf_counter() - self.t0

        return _Phase()


def _wanted_run(config: BenchConfig, registry: Registry) -> TrainConfig:
    """The resolved training configuration ``config`` asks for."""
    spec = registry.variant(config.variant)
    return resolve(TrainConfig(variant=config.variant, dataset=config.dataset, data_dir=config.data_dir,
                               steps=config.steps, batch_size=config.batch_size, seed=config.seed,
                               device=config.device, amp=config.amp, lr_g=config.lr_g, lr_d=config.lr_d,
                               ema_decay=config.ema_decay, lr_decay=config.lr_decay,
                               network=edited_network(default_network(spec, registry, config.dataset), config.network),
                               regularisers=edited_regularisers(spec.regularisers, config.regularisers)), registry)


def _check_extractors_apply(config: BenchConfig, dataset: DatasetSpec) -> None:
    if config.extractors and dataset.kind != "image":
        raise ConfigError(f"--extractor scores images; {dataset.name!r} is a {dataset.kind} dataset, scored by its own "
                          "evaluate() (mode coverage and quality)")


def _extractor_names(config: BenchConfig, registry: Registry, dataset_base: str) -> list[str]:
    if config.extractors:  # checked against the registry when the benchmark started
        return list(config.extractors)
    names = []
    for name in registry.names("extractor"):
        spec = registry.extractor(name)
        if not spec.datasets or dataset_base in spec.datasets:
            names.append(name)
    return names


def run_bench(config: BenchConfig, registry: Registry | None = None, events: Events | None = None,
              log: Callable[[str], None] = lambda message: None,
              progress: ProgressFactory = no_progress) -> BenchResult:
    """Run one benchmark and write ``metrics.json``, ``report.md`` and ``report.html`` to its directory.

    ``log`` receives one-line notes and ``progress`` opens a bar for each phase that takes more than moments
    (sampling, feature extraction, scoring); training reports through ``events``. The report directory must be new,
    empty or this benchmark's own (:mod:`ganzoo.bench_folder`); if the benchmark fails before holding a trained
    run, the directory is left as it was found (:func:`ganzoo.output_folder.left_as_found`).
    """
    from ganzoo.plugins import get_registry

    registry = registry or get_registry()
    for name in config.extractors:
        registry.extractor(name)  # an unknown name fails now, not after the training it would follow
    config, out, scored_run = _report_folder(config, registry)
    check_report_folder(out, scored_run)
    with left_as_found(out, keep=lambda: (out / "run" / "config.json").is_file()):  # a trained run: reused later
        return _bench(config, out, scored_run, registry, events, log, progress)


def _report_folder(config: BenchConfig, registry: Registry) -> tuple[BenchConfig, Path, Path | None]:
    """The config with its seed settled, the report directory, and the run directory (or weights folder) being
    scored (None when the benchmark trains its own run)."""
    source = config.checkpoint or config.run
    if not source:
        config = dataclasses.replace(config, seed=0 if config.seed is None else config.seed)
        registry.variant(config.variant or "")
        dataset_name = config.dataset or registry.variant(config.variant).defaults.dataset
        _check_extractors_apply(config, registry.dataset(parse_dataset_name(dataset_name)[0]))
        slug = dataset_name.replace(":", "_").replace("/", "_")
        return config, Path(config.out or Path("bench-runs") / f"{config.variant}-{slug}-s{config.seed}"), None
    import ganzoo
    from ganzoo.pretrained import HUB, PRETRAINED, model_path

    model = model_path(source, registry)  # trained weights (pretrained:, hf://, a model folder), not a run
    run_dir = model.parent if model is not None else find_run(Path(source)).root
    # a checkpoint file carries its config, in its run or copied out of it
    weights = model if model is not None else Path(source) if Path(source).is_file() else None
    trained = (ganzoo.load(weights, registry=registry).config if weights is not None
               else TrainConfig.from_file(run_dir / "config.json"))
    variant = trained.variant
    # scored as `ganzoo bench VARIANT --seed S` scores the run it trains: sampling noise seed S + 1
    config = dataclasses.replace(config, seed=trained.seed if config.seed is None else config.seed)
    if config.variant and config.variant != variant:
        raise ConfigError(f"{source} is a {variant!r} run, not {config.variant!r}")
    if str(source).startswith(PRETRAINED):
        name = str(source)[len(PRETRAINED):].replace("/", "-pretrained-") + f"-s{config.seed}"
    elif str(source).startswith(HUB):
        name = f"{variant}-hf-{str(source)[len(HUB):].replace('/', '-').replace('@', '-')}-s{config.seed}"
    else:
        name = f"{variant}-scored-{run_dir.resolve().name}"
    return config, Path(config.out or Path("bench-runs") / name), run_dir


def _bench(config: BenchConfig, out: Path, scored_run: Path | None, registry: Registry, events: Events | None,
           log: Callable[[str], None], progress: ProgressFactory) -> BenchResult:
    import ganzoo
    from ganzoo.bench_conditional import conditional_scores
    from ganzoo.plots import fid_records
    from ganzoo.report import write_report

    clock = _Clock()
    started = time.perf_counter()
    device = select_device(config.device)
    source = config.checkpoint or config.run
    if scored_run is not None:
        run_dir, reused = scored_run, False
    else:
        with clock.phase("training"):
            run_dir, reused = train_or_reuse(_wanted_run(config, registry), registry, out, events, log)

    loaded = ganzoo.load(source or run_dir, device=str(device), registry=registry)
    for problem in loaded.skipped:
        log(f"warning: skipped checkpoint {problem}")
    train_cfg = loaded.config
    if source and config.dataset:  # trained weights scored against data the user names (default: their own)
        train_cfg = dataclasses.replace(train_cfg, dataset=config.dataset, data_dir=config.data_dir)
    spec = loaded.spec
    dataset_base, _ = parse_dataset_name(train_cfg.dataset)
    dataset_spec = registry.dataset(dataset_base)
    _check_extractors_apply(config, dataset_spec)
    image_data = dataset_spec.kind == "image"
    n = config.num_samples or (DEFAULT_IMAGE_SAMPLES if image_data else DEFAULT_POINT_SAMPLES)
    sample_seed = config.seed + 1  # noise for scoring differs from the training noise stream

    kind = "images" if len(loaded.generator.data_shape) == 3 else "points"
    classes = loaded.num_classes
    labels = balanced_labels(n, classes)  # a conditional generator is scored on every class equally
    with clock.phase("sampling"):
        bar = progress(f"sampling {n} {kind} from step {loaded.step}", n, kind[:-1])
        try:
            fake = draw_samples(loaded.sampler, n, sample_seed, device, progress=bar.update, labels=labels)
        finally:
            bar.close()
        seed_everything(train_cfg.seed)  # the exact initial weights the trainer started from
        untrained, _ = build(spec, loaded.generator.data_shape, loaded.generator.z_dim, classes,
                             **(train_cfg.network or {}))
        grid_labels = balanced_labels(64, classes)
        if classes:  # 8 per class, one row each
            grid_labels = torch.arange(min(classes, 10)).repeat_interleave(8)
        untrained_grid = draw_samples(untrained, len(grid_labels) if classes else 64, sample_seed, device,
                                   labels=grid_labels)
        trained_grid = (draw_samples(loaded.sampler, len(grid_labels), sample_seed, device, labels=grid_labels)
                        if classes else fake[:64])
    grid_path = out / "samples.png"
    if image_data:
        _save_grid(trained_grid, grid_path, grid_labels, loaded.class_names)
        _save_grid(untrained_grid, out / "samples_step0.png", grid_labels, loaded.class_names)

    def untrained_samples() -> torch.Tensor:
        with clock.phase("sampling"):
            return draw_samples(untrained, n, sample_seed, device, labels=labels)

    lab = None
    metrics: dict[str, Any] = {
        "variant": spec.name, "dataset": train_cfg.dataset, "num_samples": n, "seed": config.seed,
        "sample_seed": sample_seed, "run": str(run_dir),
        "train": {"steps": loaded.step, "config": dataclasses.asdict(train_cfg), "reused": reused or bool(source),
                  "train_s": train_seconds(Path(run_dir), loaded.step),
                  "departures": recipe_departures(train_cfg, registry)},
        "anchor": None, "scores": {}, "cached": [], "timings_s": clock.seconds, "machine": describe(device),
        "command": None,
    }
    untrained_key = {"kind": "untrained", "ganzoo": __version__, "torch": torch.__version__,
                     "variant": spec.name, "plugin": _plugin_version(registry, spec.name),
                     "data_shape": list(loaded.generator.data_shape), "z_dim": loaded.generator.z_dim,
                     "classes": classes, "seed": train_cfg.seed, "sample_seed": sample_seed, "num_samples": n,
                     "network": train_cfg.network or {}}  # other widths or norms: another untrained network
    if image_data:
        baseline: list[torch.Tensor] = []  # the untrained network's n samples, drawn only if a score needs them

        def untrained_images() -> torch.Tensor:
            if not baseline:
                baseline.append(untrained_samples())
            return baseline[0]

        from ganzoo.engine.tracking import default_extractor

        names = _extractor_names(config, registry, dataset_base)
        # the untrained baseline only anchors the scale, so the cheap dataset-specific extractor scores it when
        # there is one (2100 Inception forwards of noise cost minutes on a CPU); otherwise every extractor does
        cheap = default_extractor(registry, train_cfg.dataset)
        for name in names:
            baseline_here = cheap not in names or name == cheap
            scores, cached = _score_images(registry, name, train_cfg, loaded, fake,
                                           untrained_images if baseline_here else None,
                                           {**untrained_key, "num_classes": dataset_spec.num_classes}, config.seed,
                                           device, clock, progress)
            metrics["scores"][name] = scores
            metrics["cached"] += [f"{name}/{what}" for what in cached]
        if classes:
            with clock.phase("conditional metrics"):
                metrics["conditional"] = conditional_scores(registry, loaded, dataset_base, sample_seed, config.seed,
                                                            device, out, progress, log)
    else:
        if dataset_spec.evaluate is None:
            raise ConfigError(f"dataset {dataset_base!r} has no evaluate() for point samples")
        real = load_dataset(registry, train_cfg.dataset, split="test", seed=train_cfg.seed)
        with clock.phase("scoring"):
            metrics["toy"] = {"final": dataset_spec.evaluate(fake, config.seed),
                              "step0": dataset_spec.evaluate(untrained_samples(), config.seed),
                              "floor": dataset_spec.evaluate(real.data[:n], config.seed)}
        from ganzoo.plots import save_scatter

        bound = 1.25 * float(real.data[:n].abs().max())  # both plots on the real data's axes, so they compare
        save_scatter(fake, grid_path, reference=real.data[:n], title=f"{spec.name} step {loaded.step}",
                     limits=(-bound, bound))
        save_scatter(untrained_grid, out / "samples_step0.png", reference=real.data[:n],
                     title=f"{spec.name} step 0 (untrained)", limits=(-bound, bound))
        if not source:  # the lab page: GAN Lab's views of the same configuration, re-run with a frame every few steps
            from ganzoo.lab import record, write_page

            with clock.phase("lab"):
                log(f"recording the lab page -> {out / 'lab.html'}")
                lab = record(train_cfg, registry=registry)
                write_page(out / "lab.html", [lab])
    metrics["fid_while_training"] = fid_records(RunDir(Path(run_dir)).read_metrics())
    metrics["timings_s"]["total"] = time.perf_counter() - started
    pictures = {name: Path(run_dir) / f"{name}.png" for name in ("losses", "fid")}
    write_report(out, metrics, {name: path for name, path in pictures.items() if path.exists()})
    return BenchResult(out, metrics, lab)


def _score_images(registry: Registry, name: str, train_cfg: TrainConfig, loaded: Any, fake: torch.Tensor,
                  untrained_images: Callable[[], torch.Tensor] | None, untrained_key: dict[str, Any], seed: int,
                  device: torch.device, clock: _Clock, progress: ProgressFactory
                  ) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Scores with extractor ``name``: the trained generator's ("final"), the untrained network's ("step0") and
    the real-vs-real floor ("floor"), all against the test split; the last two come from the cache when they can.
    ``untrained_images=None`` skips the untrained score (its entries read None). Returns the scores and which of
    them were cached."""
    from ganzoo.metrics.pipeline import extract, score
    from ganzoo.metrics.reference import reference_features

    ext_spec = registry.extractor(name)
    extractor = ext_spec.build(device=device)
    n, channels = len(fake), loaded.generator.data_shape[0]
    with clock.phase("reference features"):
        test, train = (reference_features(registry, train_cfg.dataset, split, name, n, train_cfg.image_size,
                                          channels, train_cfg.data_dir, device, extractor=extractor, progress=progress)
                       for split in ("test", "train"))

    def features(images: torch.Tensor, what: str):
        with clock.phase("generated features"):
            bar = progress(f"{name} features of {what}", len(images), "img")
            try:
                return extract(extractor, image_batches(images), device=device, progress=bar.update)
            finally:
                bar.close()

    def scored(fake_set) -> dict[str, Any]:
        with clock.phase("scoring"):
            return score(test, fake_set, num_classes=untrained_key["num_classes"], seed=seed)

    common = {"ganzoo": __version__, "extractor": name, "extractor_version": ext_spec.version,
              "reference": test.meta.get("cache_key"), "kid_seed": seed}
    floor, floor_cached = cached_score({**common, "kind": "floor", "train": train.meta.get("cache_key")},
                                       lambda: scored(train))
    step0, step0_cached = {}, False
    if untrained_images is not None:
        step0, step0_cached = cached_score({**untrained_key, **common},
                                           lambda: scored(features(untrained_images(), "the untrained network")))
    final = scored(features(fake, f"step {loaded.step}"))
    cached = [what for what, hit in (("floor", floor_cached), ("step0", step0_cached)) if hit]
    return {"final": final, "step0": step0, "floor": floor}, cached


def _save_grid(images: torch.Tensor, path: Path, labels: torch.Tensor | None, names: tuple[str, ...]) -> None:
    """A uint8 image batch as the report's grid: one labelled row per class when ``labels`` are given."""
    from ganzoo.plots import save_class_grid, save_grid

    pictures = images.float().div(127.5).sub(1)
    if labels is not None:
        save_class_grid(pictures, labels, names, path)
    else:
        save_grid(pictures, path)


def _plugin_version(registry: Registry, variant: str) -> str:
    """The registering plugin and its distribution version, so cached untrained scores follow a plugin upgrade."""
    from ganzoo.plugins import get_plugins

    plugin = registry.entry("variant", variant).plugin
    info = get_plugins().infos.get(plugin)
    return f"{plugin} {info.distribution if info else ''} {info.version if info else ''}".strip()


class _CallableModule(types.ModuleType):
    """``ganzoo.bench`` is both this module and the API function :func:`ganzoo.api.bench`: importing a submodule
    sets the package attribute of its name to the module, so the module itself answers calls."""

    def __call__(self, *args: Any, **kwargs: Any) -> BenchResult:
        from ganzoo.api import bench

        return bench(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
