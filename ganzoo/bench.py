"""The benchmark harness: train (or load) a variant, sample it, score it against held-out data, write a report.

Every score comes with two references at the same sample count so a reader can interpret it: the *floor*
(real training images against the real test images: the best a perfect generator could expect at this N) and the
*baseline* (the same network at step 0, untrained, from the same seed).
"""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganzoo import __version__
from ganzoo.data import load_dataset, parse_dataset_name, to_uint8_images
from ganzoo.engine import Events, TrainConfig, find_run, resolve
from ganzoo.engine import train as train_run
from ganzoo.engine.device import select_device
from ganzoo.engine.loop import seed_everything
from ganzoo.errors import ConfigError
from ganzoo.models import build
from ganzoo.registry import Registry

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
    seed: int = 0
    device: str = "auto"
    num_samples: int | None = None
    extractors: tuple[str, ...] = ()
    run: str | None = None  # score this run directory instead of training
    checkpoint: str | None = None  # score this checkpoint file instead of training
    out: str | None = None

    def __post_init__(self) -> None:
        if self.num_samples is not None and self.num_samples <= 0:
            raise ConfigError(f"--num-samples must be a positive integer, got {self.num_samples}")


@dataclass
class BenchResult:
    """Where the report went and the headline numbers."""

    out: Path
    metrics: dict[str, Any]

    @property
    def report_md(self) -> Path:
        return self.out / "report.md"

    def summary(self) -> str:
        m = self.metrics
        parts = [f"{m['variant']} on {m['dataset']} ({m['train']['steps']} steps, N={m['num_samples']})"]
        for name, block in m.get("scores", {}).items():
            final, base, floor = block["final"], block["step0"], block["floor"]
            if final.get("fid") is not None:
                parts.append(f"{name} FID {final['fid']:.2f} (untrained {base['fid']:.2f}, real-vs-real "
                             f"{floor['fid']:.2f})")
        for key, value in m.get("toy", {}).get("final", {}).items():
            parts.append(f"{key} {value:.3g}" if isinstance(value, float) else f"{key} {value}")
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


def _batches(images: torch.Tensor, size: int = 100) -> Iterator[torch.Tensor]:
    for start in range(0, len(images), size):
        yield images[start:start + size]


@torch.no_grad()
def _generate(generator: torch.nn.Module, n: int, seed: int, device: torch.device, batch: int = 250) -> torch.Tensor:
    """``n`` samples from ``generator`` in eval mode, noise seeded by ``seed``; images come back as uint8."""
    generator = generator.to(device).eval()
    noise_rng = torch.Generator().manual_seed(seed)
    chunks = []
    for start in range(0, n, batch):
        z = torch.randn(min(batch, n - start), generator.z_dim, generator=noise_rng).to(device)
        x = generator(z).float().cpu()
        chunks.append(to_uint8_images(x) if x.dim() == 4 else x)
    return torch.cat(chunks).contiguous()


def _machine(device: torch.device) -> dict[str, Any]:
    import os

    info = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "ganzoo": __version__, "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _train_or_reuse(config: BenchConfig, registry: Registry, out: Path, events: Events | None,
                    log: Callable[[str], None]) -> Path:
    """Train into ``out/run``; a finished run with the same config is reused, an unfinished one resumed."""
    wanted = resolve(TrainConfig(variant=config.variant, dataset=config.dataset, data_dir=config.data_dir,
                                 steps=config.steps, batch_size=config.batch_size, seed=config.seed,
                                 device=config.device), registry)
    run_dir = out / "run"
    if (run_dir / "config.json").is_file():
        stored = TrainConfig.from_file(run_dir / "config.json")
        if stored != wanted:
            raise ConfigError(f"{out} holds a benchmark of another configuration; choose another --out")
        run = find_run(run_dir)
        done = [s for s, _ in run.list_checkpoints()]
        if done and max(done) >= wanted.steps:
            log(f"reusing the finished run in {run_dir}")
            return run_dir
        log(f"resuming the unfinished run in {run_dir}")
        train_run(wanted, run_dir, registry=registry, resume=True, events=events)
        return run_dir
    log(f"training {wanted.variant} on {wanted.dataset} for {wanted.steps} steps -> {run_dir}")
    train_run(wanted, run_dir, registry=registry, events=events)
    return run_dir


def _extractor_names(config: BenchConfig, registry: Registry, dataset_base: str) -> list[str]:
    if config.extractors:
        for name in config.extractors:
            registry.extractor(name)
        return list(config.extractors)
    names = []
    for name in registry.names("extractor"):
        spec = registry.extractor(name)
        if not spec.datasets or dataset_base in spec.datasets:
            names.append(name)
    return names


def run_bench(config: BenchConfig, registry: Registry | None = None, events: Events | None = None,
              log: Callable[[str], None] = lambda message: None) -> BenchResult:
    """Run one benchmark and write ``metrics.json``, ``report.md`` and ``report.html`` to its directory."""
    import ganzoo
    from ganzoo.metrics.pipeline import extract, score
    from ganzoo.metrics.reference import reference_features
    from ganzoo.plots import save_samples
    from ganzoo.plugins import get_registry
    from ganzoo.report import write_report

    registry = registry or get_registry()
    clock = _Clock()
    started = time.perf_counter()
    device = select_device(config.device)

    source = config.checkpoint or config.run
    if source:
        run_dir = find_run(Path(source)).root
        variant = TrainConfig.from_file(run_dir / "config.json").variant
        if config.variant and config.variant != variant:
            raise ConfigError(f"{source} is a {variant!r} run, not {config.variant!r}")
        out = Path(config.out or Path("bench-runs") / f"{variant}-scored-{run_dir.name}")
        out.mkdir(parents=True, exist_ok=True)
    else:
        registry.variant(config.variant or "")
        dataset_name = config.dataset or registry.variant(config.variant).defaults.dataset
        slug = dataset_name.replace(":", "_").replace("/", "_")
        out = Path(config.out or Path("bench-runs") / f"{config.variant}-{slug}-s{config.seed}")
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out} exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        with clock.phase("training"):
            run_dir = _train_or_reuse(config, registry, out, events, log)

    loaded = ganzoo.load(source or run_dir, device=str(device), registry=registry)
    for problem in loaded.skipped:
        log(f"warning: skipped checkpoint {problem}")
    train_cfg = loaded.config
    spec = loaded.spec
    dataset_base, _ = parse_dataset_name(train_cfg.dataset)
    dataset_spec = registry.dataset(dataset_base)
    image_data = dataset_spec.kind == "image"
    n = config.num_samples or (DEFAULT_IMAGE_SAMPLES if image_data else DEFAULT_POINT_SAMPLES)
    sample_seed = config.seed + 1  # noise for scoring differs from the training noise stream

    log(f"sampling {n} {'images' if len(loaded.generator.data_shape) == 3 else 'points'} from step {loaded.step} "
        "and from the untrained network")
    with clock.phase("sampling"):
        fake = _generate(loaded.sampler, n, sample_seed, device)
        seed_everything(train_cfg.seed)  # the exact initial weights the trainer started from
        untrained, _ = build(spec, loaded.generator.data_shape, loaded.generator.z_dim)
        baseline = _generate(untrained, n, sample_seed, device)
    grid_path = out / "samples.png"
    save_samples(fake[:64].float().div(127.5).sub(1) if image_data else fake, grid_path,
                 kind="image" if image_data else "points")
    save_samples(baseline[:64].float().div(127.5).sub(1) if image_data else baseline, out / "samples_step0.png",
                 kind="image" if image_data else "points")

    metrics: dict[str, Any] = {
        "variant": spec.name, "dataset": train_cfg.dataset, "num_samples": n, "seed": config.seed,
        "sample_seed": sample_seed, "run": str(run_dir),
        "train": {"steps": loaded.step, "config": dataclasses.asdict(train_cfg)},
        "anchor": None, "scores": {}, "timings_s": clock.seconds, "machine": _machine(device),
        "command": None,
    }
    if image_data:
        names = _extractor_names(config, registry, dataset_base)
        for name in names:
            ext_spec = registry.extractor(name)
            log(f"scoring with {name} ({ext_spec.feature_dim}-d features)")
            extractor = ext_spec.build(device=device)
            with clock.phase("reference features"):
                test = reference_features(registry, train_cfg.dataset, "test", name, n, train_cfg.image_size,
                                          loaded.generator.data_shape[0], train_cfg.data_dir, device,
                                          extractor=extractor)
                train_real = reference_features(registry, train_cfg.dataset, "train", name, n,
                                                train_cfg.image_size, loaded.generator.data_shape[0],
                                                train_cfg.data_dir, device, extractor=extractor)
            with clock.phase("generated features"):
                fake_set = extract(extractor, _batches(fake), device=device)
                base_set = extract(extractor, _batches(baseline), device=device)
            with clock.phase("scoring"):
                classes = dataset_spec.num_classes
                metrics["scores"][name] = {
                    "final": score(test, fake_set, num_classes=classes, seed=config.seed),
                    "step0": score(test, base_set, num_classes=classes, seed=config.seed),
                    "floor": score(test, train_real, num_classes=classes, seed=config.seed),
                }
    else:
        if dataset_spec.evaluate is None:
            raise ConfigError(f"dataset {dataset_base!r} has no evaluate() for point samples")
        real = load_dataset(registry, train_cfg.dataset, split="test", seed=train_cfg.seed)
        with clock.phase("scoring"):
            metrics["toy"] = {"final": dataset_spec.evaluate(fake, config.seed),
                              "step0": dataset_spec.evaluate(baseline, config.seed),
                              "floor": dataset_spec.evaluate(real.data[:n], config.seed)}
        from ganzoo.plots import save_scatter

        save_scatter(fake, grid_path, reference=real.data[:n], title=f"{spec.name} step {loaded.step}")
    metrics["timings_s"]["total"] = time.perf_counter() - started
    losses_src = Path(run_dir) / "losses.png"
    write_report(out, metrics, losses_src if losses_src.exists() else None)
    return BenchResult(out, metrics)


def compare(results: list[BenchResult], out: Path) -> Path:
    """One comparison table (markdown) and plot across several benchmark results."""
    from ganzoo.report import write_comparison

    return write_comparison(results, Path(out))
