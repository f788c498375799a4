"""What ``ganzoo fid A B`` compares: image folders, ``.npz`` statistics files and ganzoo runs.

- a folder: every image under it (recursively); ``num_samples`` of them chosen by a fixed seeded permutation
  when it holds more;
- a ``.npz``: statistics saved by ganzoo or pytorch-fid (``mu`` / ``sigma``; ``n`` may be absent);
- a run directory (or one of its checkpoint files): ``num_samples`` images sampled from its generator with a fixed
  seed, quantised to uint8 exactly as an image file would store them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganzoo.engine.device import select_device
from ganzoo.errors import ConfigError, DataError, MetricError
from ganzoo.metrics.extractor import FeatureExtractor
from ganzoo.metrics.frechet import check_sample_count
from ganzoo.metrics.pipeline import FeatureSet, extract, score
from ganzoo.registry import Registry


def source_kind(path: str | Path) -> str:
    """``"npz"``, ``"run"`` or ``"folder"``; a missing or unusable path raises :class:`DataError`."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{path} does not exist")
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return "npz"
        if path.suffix == ".safetensors" and path.parent.name == "checkpoints":
            return "run"
        raise DataError(f"{path} is a file but not a .npz of statistics or a ganzoo checkpoint; "
                        "pass an image folder, a .npz or a run directory")
    if (path / "config.json").is_file():
        return "run"
    return "folder"


def _accepted(images: torch.Tensor, extractor: FeatureExtractor) -> torch.Tensor:
    from ganzoo.data.transforms import convert_channels

    accepted = tuple(getattr(extractor, "channels", ()) or ())
    if accepted and images.shape[1] not in accepted:
        return convert_channels(images, accepted[0])
    return images


def _folder_batches(folder: Path, num_samples: int, batch_size: int, seed: int,
                    extractor: FeatureExtractor) -> Iterator[torch.Tensor]:
    from ganzoo.data.folder import EXTENSIONS, image_files, read_images

    files = image_files(folder)
    if not files:
        raise DataError(f"image folder {folder} holds no images ({', '.join(sorted(EXTENSIONS))})")
    if len(files) > num_samples:
        chosen = np.sort(np.random.default_rng(seed).permutation(len(files))[:num_samples])
        files = [files[i] for i in chosen]
    for start in range(0, len(files), batch_size):
        yield _accepted(read_images(files[start:start + batch_size], None), extractor)


def _run_batches(path: Path, num_samples: int, batch_size: int, seed: int, registry: Registry,
                 device: str | torch.device, extractor: FeatureExtractor) -> Iterator[torch.Tensor]:
    from ganzoo.api import load, sample
    from ganzoo.data import to_uint8_images

    run = load(path, device=str(device), registry=registry)
    shape = tuple(run.sampler.data_shape)
    if len(shape) != 3:
        raise DataError(f"run {path} generates {shape}-shaped points, not images; FID needs images")
    # one seed per batch, all derived from ``seed``: the same images whatever is done between batches
    seeds = np.random.SeedSequence(seed).generate_state(max(1, -(-num_samples // batch_size)))
    for i, start in enumerate(range(0, num_samples, batch_size)):
        images = sample(run, min(batch_size, num_samples - start), seed=int(seeds[i]), batch_size=batch_size)
        yield _accepted(to_uint8_images(images), extractor)


def _image_count(path: Path, kind: str, num_samples: int) -> int:
    """How many images a folder or run source will contribute."""
    if kind == "folder":
        from ganzoo.data.folder import EXTENSIONS, image_files

        found = len(image_files(path))
        if not found:
            raise DataError(f"image folder {path} holds no images ({', '.join(sorted(EXTENSIONS))})")
        return min(num_samples, found)
    return num_samples


def load_source(path: str | Path, extractor: FeatureExtractor | None, num_samples: int, registry: Registry,
                device: str | torch.device = "cpu", *, seed: int = 0, batch_size: int = 100,
                keep: int = 10000) -> FeatureSet:
    """Features of one source: a folder of images, a ``.npz`` of statistics or a ganzoo run.

    ``extractor`` may be None only for a ``.npz`` (its dimension is then not checked).
    """
    device = select_device(str(device))
    path = Path(path).expanduser()
    kind = source_kind(path)
    if kind == "npz":
        dim = getattr(extractor, "feature_dim", None) if extractor is not None else None
        fs = FeatureSet.load(path, dim=dim)
    else:
        if num_samples < 1:
            raise MetricError(f"--num-samples must be positive, got {num_samples}")
        if extractor is None:
            raise MetricError(f"{path} holds images; a feature extractor is needed to read it")
        if kind == "folder":
            batches = _folder_batches(path, num_samples, batch_size, seed, extractor)
        else:
            batches = _run_batches(path, num_samples, batch_size, seed, registry, device, extractor)
        fs = extract(extractor, batches, device=device, keep=keep)
    fs.meta.update(source=str(path), source_kind=kind)
    return fs


def compare(a: str | Path, b: str | Path, extractor_name: str, num_samples: int, registry: Registry,
            device: str | torch.device = "cpu", save_stats: str | Path | None = None, *, seed: int = 0,
            batch_size: int = 100, keep: int = 10000) -> dict[str, Any]:
    """FID (and every other metric that applies) of source ``b`` against source ``a``.

    ``save_stats`` is an ``.npz`` path that receives A's features: ``mu`` / ``sigma`` / ``n`` (readable by
    pytorch-fid) plus the kept raw features and logits, so a later comparison can pass the file as A.
    Raises :class:`GanzooError` when FID cannot be computed (too few samples, mismatched dimensions...).
    """
    device = select_device(str(device))
    a, b = Path(a).expanduser(), Path(b).expanduser()
    kinds = source_kind(a), source_kind(b)
    if save_stats is not None and Path(save_stats).expanduser().is_dir():
        raise ConfigError(f"--save-stats {save_stats} is a folder; give the path of an .npz file to write")
    spec = registry.extractor(extractor_name)
    for path, kind in zip((a, b), kinds, strict=True):
        if kind != "npz":  # refuse before the (slow) feature extraction, not after it
            check_sample_count(_image_count(path, kind, num_samples), spec.feature_dim)
    extractor = spec.build(device=device) if any(kind != "npz" for kind in kinds) else None
    sets = []
    for path in (a, b):
        fs = load_source(path, extractor, num_samples, registry, device, seed=seed, batch_size=batch_size,
                         keep=keep)
        if fs.dim != spec.feature_dim:
            raise MetricError(f"{path} holds {fs.dim}-d statistics, extractor {extractor_name!r} gives "
                              f"{spec.feature_dim}-d features")
        fs.meta["extractor"] = extractor_name
        sets.append(fs)
    result = score(sets[0], sets[1], seed=seed, device=device)
    if result["fid"] is None:
        raise MetricError(result["skipped"]["fid"])
    result["sources"] = {"a": {"path": str(a), "kind": kinds[0]}, "b": {"path": str(b), "kind": kinds[1]}}
    result["extractor"] = extractor_name
    if save_stats is not None:
        target = Path(save_stats).expanduser()
        sets[0].save(target)
        result["saved_stats"] = str(target)
    return result
