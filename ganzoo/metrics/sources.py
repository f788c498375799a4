"""What ``ganzoo fid A B`` compares: image folders, ``.npz`` statistics files, ganzoo runs and registered datasets.

- a folder: every image under it (recursively); ``num_samples`` of them chosen by a fixed seeded permutation
  when it holds more. Images that share one size are read as they are (the extractor resizes them); a folder of
  mixed sizes is brought to one square size first: each image resized on its shorter side (antialiased) and
  centre-cropped to the median shorter side of the chosen images (see :func:`folder_plan`);
- a ``.npz``: statistics saved by ganzoo or pytorch-fid (``mu`` / ``sigma``; ``n`` may be absent);
- a run directory (or one of its checkpoint files): the first ``num_samples`` images of
  ``ganzoo.sample(run, num_samples, seed)``, quantised to uint8 exactly as ``ganzoo sample -o DIR/`` writes them,
  so a folder written by ``ganzoo sample`` scores as its run does;
- a dataset, ``NAME[:SPLIT]`` (``mnist:test``, ``cifar10``, ``folder:PATH:train``; the test split when none is
  given): the same seeded subset and cached features ``ganzoo bench`` scores against.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganzoo.engine.device import select_device
from ganzoo.errors import ConfigError, DataError, MetricError
from ganzoo.metrics.extractor import FeatureExtractor
from ganzoo.metrics.frechet import check_sample_count
from ganzoo.metrics.pipeline import FeatureSet, extract, score
from ganzoo.progress import ProgressFactory, no_progress
from ganzoo.registry import Registry

DEFAULT_DATASET_SIZE = 32  # image size of a dataset side when no run side gives one


def _dataset_side(text: str, registry: Registry | None) -> tuple[str, str] | None:
    """``"mnist:test"`` -> ``("mnist", "test")``, ``"folder:/x:train"`` -> ``("folder:/x", "train")``; None when
    ``text`` names no registered dataset."""
    if registry is None:
        return None
    base = text.split(":", 1)[0]
    if base not in registry.names("dataset"):
        return None
    name, sep, split = text.rpartition(":")
    if sep and split in ("train", "test") and name:
        return name, split
    if sep and name == base and not registry.dataset(base).takes_argument:
        raise DataError(f"unknown split {split!r} in {text!r}: use {base}:train or {base}:test")
    return text, "test"


def source_kind(path: str | Path, registry: Registry | None = None) -> str:
    """``"npz"``, ``"run"``, ``"folder"`` or (given a registry) ``"dataset"``; anything else raises
    :class:`DataError`."""
    path = Path(path).expanduser()
    if not path.exists():
        if _dataset_side(str(path), registry) is not None:
            return "dataset"
        raise DataError(f"{path} does not exist" + (" (nor is it a dataset such as mnist:test)" if registry else ""))
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return "npz"
        if path.suffix == ".safetensors":  # a checkpoint, in its run or copied out of it
            return "run"
        raise DataError(f"{path} is a file but not a .npz of statistics or a ganzoo checkpoint; "
                        "pass an image folder, a .npz, a run directory or a dataset")
    if (path / "config.json").is_file():
        return "run"
    return "folder"


def _accepted(images: torch.Tensor, extractor: FeatureExtractor) -> torch.Tensor:
    from ganzoo.data.transforms import convert_channels

    accepted = tuple(getattr(extractor, "channels", ()) or ())
    if accepted and images.shape[1] not in accepted:
        return convert_channels(images, accepted[0])
    return images


@dataclass(frozen=True)
class FolderPlan:
    """Which files of a folder ``ganzoo fid`` reads, in what colour mode, and at what size."""

    files: list[Path]
    mode: str  # "L" or "RGB"
    size: int | None  # None: the files share one size and are read as they are
    rule: str  # the above in words, for the output


def folder_plan(folder: Path, num_samples: int, seed: int = 0) -> FolderPlan:
    """The images of ``folder`` a FID reads: at most ``num_samples``, a seeded subset when it holds more.

    Same-size images are read as they are. Mixed sizes are resized on the shorter side and centre-cropped to the
    median shorter side of the chosen images: one square size, no image stretched, and no size favoured by an
    outlier. The FID extractors resize to their own input size afterwards.
    """
    from ganzoo.data.folder import EXTENSIONS, scan

    listing = scan(folder)
    if not listing.files:
        raise DataError(f"image folder {folder} holds no images ({', '.join(sorted(EXTENSIONS))})")
    chosen = list(range(len(listing.files)))
    if len(chosen) > num_samples:
        chosen = sorted(int(i) for i in np.random.default_rng(seed).permutation(len(chosen))[:num_samples])
    files = [listing.files[i] for i in chosen]
    sizes = {listing.sizes[i] for i in chosen}
    if len(sizes) == 1:
        (width, height), = sizes
        return FolderPlan(files, listing.mode, None, f"all {width}x{height}, read as they are")
    side = int(statistics.median_low(min(listing.sizes[i]) for i in chosen))  # type: ignore[arg-type]
    return FolderPlan(files, listing.mode, side, f"mixed sizes: each resized on its shorter side and center-cropped "
                                                 f"to {side}x{side}, the median shorter side")


def _folder_batches(plan: FolderPlan, batch_size: int, extractor: FeatureExtractor) -> Iterator[torch.Tensor]:
    from ganzoo.data.folder import read_images

    for start in range(0, len(plan.files), batch_size):
        images, _, _ = read_images(plan.files[start:start + batch_size], plan.mode, plan.size)
        yield _accepted(images, extractor)


def _run_batches(path: Path, num_samples: int, batch_size: int, seed: int, registry: Registry,
                 device: str | torch.device, extractor: FeatureExtractor) -> Iterator[torch.Tensor]:
    from ganzoo.api import iter_samples, load
    from ganzoo.data import to_uint8_images

    run = load(path, device=str(device), registry=registry)
    shape = tuple(run.sampler.data_shape)
    if len(shape) != 3:
        raise DataError(f"run {path} generates {shape}-shaped points, not images; FID needs images")
    for images in iter_samples(run, num_samples, seed=seed, batch_size=batch_size):
        yield _accepted(to_uint8_images(images), extractor)


def _image_count(path: Path, kind: str, num_samples: int, seed: int) -> tuple[int, str]:
    """How many images a folder or run source will contribute, and what they are (for the error message)."""
    if kind == "folder":
        found = len(folder_plan(path, num_samples, seed).files)
        return found, f"image folder {path} holds {found} images" if found < num_samples else ""
    return num_samples, ""


def _run_image_shape(path: Path) -> tuple[int, int | None] | None:
    """(image size, channels) a run trains at, from its config.json; None when it is not a run."""
    from ganzoo.engine.config import TrainConfig
    from ganzoo.engine.rundir import find_run

    try:
        config = TrainConfig.from_file(find_run(path).config)
    except Exception:  # noqa: BLE001 - the run is loaded (and its problems reported) later
        return None
    return config.image_size or DEFAULT_DATASET_SIZE, config.channels


def load_source(path: str | Path, extractor: FeatureExtractor | None, num_samples: int, registry: Registry,
                device: str | torch.device = "cpu", *, seed: int = 0, batch_size: int = 100,
                keep: int = 10000, progress: ProgressFactory = no_progress,
                image_size: int = DEFAULT_DATASET_SIZE, channels: int | None = None,
                extractor_name: str | None = None) -> FeatureSet:
    """Features of one source: a folder of images, a ``.npz`` of statistics, a ganzoo run or a dataset.

    ``extractor`` (registered as ``extractor_name``) may be None only for a ``.npz`` (its dimension is then not
    checked). ``image_size`` and ``channels`` apply to a dataset side only. ``progress`` opens a bar while features
    are extracted.
    """
    device = select_device(str(device))
    path = Path(path).expanduser()
    kind = source_kind(path, registry)
    meta: dict[str, Any] = {}
    if kind == "npz":
        dim = getattr(extractor, "feature_dim", None) if extractor is not None else None
        fs = FeatureSet.load(path, dim=dim)
    else:
        if num_samples < 1:
            raise MetricError(f"--num-samples must be positive, got {num_samples}")
        if extractor is None:
            raise MetricError(f"{path} holds images; a feature extractor is needed to read it")
        name = extractor_name or type(extractor).__name__
        if kind == "dataset":
            from ganzoo.metrics.reference import reference_features

            dataset, split = _dataset_side(str(path), registry)  # type: ignore[misc]
            fs = reference_features(registry, dataset, split, name, num_samples, image_size, channels,
                                    device=device, keep=keep, extractor=extractor, progress=progress)
            meta["preprocessing"] = f"{image_size}x{image_size}, the {split} split"
        else:
            if kind == "folder":
                plan = folder_plan(path, num_samples, seed)
                batches, total, what = _folder_batches(plan, batch_size, extractor), len(plan.files), "images of"
                meta["preprocessing"] = plan.rule
            else:
                batches = _run_batches(path, num_samples, batch_size, seed, registry, device, extractor)
                total, what = num_samples, "images sampled from"
            bar = progress(f"{name} features of {total} {what} {path.name or path}", total, "img")
            try:
                fs = extract(extractor, batches, device=device, keep=keep, progress=bar.update)
            finally:
                bar.close()
    fs.meta.update(source=str(path), source_kind=kind, **meta)
    return fs


def _npz_dimension_check(path: Path, extractor_name: str, feature_dim: int) -> None:
    """Refuse a statistics file made by another extractor before anything else is checked or computed."""
    from ganzoo.metrics.stats import read_npz

    arrays = read_npz(path)
    mu = arrays.get("mu")
    if mu is None or getattr(mu, "ndim", 0) != 1 or mu.shape[0] == feature_dim:
        return  # a malformed file is reported when it is loaded
    made_by = ""
    if "meta" in arrays:
        import json

        try:
            made_by = json.loads(str(arrays["meta"])).get("extractor") or ""
        except (ValueError, AttributeError):
            made_by = ""
    hint = f" (it was made with --extractor {made_by})" if made_by and made_by != extractor_name else ""
    raise MetricError(f"{path} holds {mu.shape[0]}-d statistics{hint}, but extractor {extractor_name!r} gives "
                      f"{feature_dim}-d features; compare statistics made by the same extractor")


def compare(a: str | Path, b: str | Path, extractor_name: str, num_samples: int, registry: Registry,
            device: str | torch.device = "cpu", save_stats: str | Path | None = None, *, seed: int = 0,
            batch_size: int = 100, keep: int = 10000, progress: ProgressFactory = no_progress,
            image_size: int | None = None) -> dict[str, Any]:
    """FID (and every other metric that applies) of source ``b`` against source ``a``.

    ``save_stats`` is an ``.npz`` path that receives A's features: ``mu`` / ``sigma`` / ``n`` (readable by
    pytorch-fid) plus the kept raw features and logits, so a later comparison can pass the file as A.
    A dataset side is read at ``image_size`` (default: a run side's image size and channels, else 32).
    Raises :class:`GanzooError` when FID cannot be computed (too few samples, mismatched dimensions...).
    """
    device = select_device(str(device))
    a, b = Path(a).expanduser(), Path(b).expanduser()
    kinds = source_kind(a, registry), source_kind(b, registry)
    if save_stats is not None and Path(save_stats).expanduser().is_dir():
        raise ConfigError(f"--save-stats {save_stats} is a folder; give the path of an .npz file to write")
    if save_stats is not None and Path(save_stats).suffix.lower() != ".npz":  # else fid could not read it back
        raise ConfigError(f"--save-stats {save_stats}: the file must end in .npz")
    if save_stats is not None:  # before the extraction whose statistics it would hold
        from ganzoo.engine.checkpoint import check_writable

        check_writable(Path(save_stats).expanduser(), "--save-stats")
    spec = registry.extractor(extractor_name)
    for path, kind in zip((a, b), kinds, strict=True):
        if kind == "npz":
            _npz_dimension_check(path, extractor_name, spec.feature_dim)
    for path, kind in zip((a, b), kinds, strict=True):
        if kind in ("folder", "run"):  # refuse before the (slow) feature extraction, not after it
            count, what = _image_count(path, kind, num_samples, seed)
            if count <= spec.feature_dim and what:
                raise MetricError(f"{what}, too few for FID with the {spec.feature_dim}-d features of "
                                  f"{extractor_name!r} (it needs more images than feature dimensions)")
            check_sample_count(count, spec.feature_dim)
        elif kind == "dataset":
            check_sample_count(num_samples, spec.feature_dim)
    shape = (image_size, None) if image_size else next(
        (s for p, k in zip((a, b), kinds, strict=True) if k == "run" and (s := _run_image_shape(p))),
        (DEFAULT_DATASET_SIZE, None))
    extractor = spec.build(device=device) if any(kind != "npz" for kind in kinds) else None
    sets = []
    for path in (a, b):
        fs = load_source(path, extractor, num_samples, registry, device, seed=seed, batch_size=batch_size,
                         keep=keep, progress=progress, image_size=shape[0], channels=shape[1],
                         extractor_name=extractor_name)
        if fs.dim != spec.feature_dim:
            raise MetricError(f"{path} holds {fs.dim}-d statistics, extractor {extractor_name!r} gives "
                              f"{spec.feature_dim}-d features")
        fs.meta["extractor"] = extractor_name
        sets.append(fs)
    result = score(sets[0], sets[1], seed=seed, device=device)
    if result["fid"] is None:
        raise MetricError(result["skipped"]["fid"])
    result["sources"] = {side: {"path": str(path), "kind": kind,
                                **({"preprocessing": fs.meta["preprocessing"]} if "preprocessing" in fs.meta else {})}
                         for side, path, kind, fs in zip("ab", (a, b), kinds, sets, strict=True)}
    result["extractor"] = extractor_name
    if save_stats is not None:
        target = Path(save_stats).expanduser()
        sets[0].save(target)
        result["saved_stats"] = str(target)
    return result
