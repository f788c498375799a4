"""Features of real images, computed once per configuration and cached under ``cache_dir("stats")``.

The reference set is the first ``num_samples`` images of a fixed seeded permutation of the split (all of it when
the split is smaller), so every run of every variant is scored against the same images. The cache key covers
everything that changes the numbers: dataset (for ``folder:PATH``, the resolved path and a fingerprint of its
files), split, extractor (name, feature dimension, class count), sample count, image size, channels, how many raw
features are kept, the permutation seed and :data:`PREPROCESS_VERSION`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganzoo.cache import cache_dir
from ganzoo.engine.device import select_device
from ganzoo.errors import GanzooError, MetricError
from ganzoo.metrics.extractor import FeatureExtractor
from ganzoo.metrics.pipeline import FeatureSet, extract
from ganzoo.progress import ProgressFactory, no_progress
from ganzoo.registry import Registry

# bump when ganzoo's own image preparation (decoding, resizing, channel conversion, quantisation) changes.
# 2: image folders are resized on the shorter side and center-cropped (non-square images were stretched to a
#    square before), and 16-bit images are scaled to 8 bits (they were clipped)
PREPROCESS_VERSION = 2
PERMUTATION_SEED = 0


def reference_order(n_total: int, num_samples: int) -> np.ndarray:
    """Indices of the reference images: the first ``num_samples`` of a fixed seeded permutation."""
    return np.random.default_rng(PERMUTATION_SEED).permutation(n_total)[:num_samples]


def _folder_fingerprint(dataset: str) -> dict[str, Any]:
    from ganzoo.data import parse_dataset_name
    from ganzoo.data.folder import image_files

    base, argument = parse_dataset_name(dataset)
    if base != "folder" or not argument:
        return {}
    folder = Path(argument).expanduser().resolve()
    files = image_files(folder) if folder.is_dir() else []
    digest = hashlib.sha256()
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(folder)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return {"folder": str(folder), "files": len(files), "files_sha256": digest.hexdigest()}


def cache_key(dataset: str, split: str, extractor_name: str, spec: Any, num_samples: int, image_size: int,
              channels: int | None, keep: int) -> dict[str, Any]:
    """Everything the cached reference features depend on, as a JSON-serialisable dict."""
    return {
        "dataset": dataset, "split": split, "extractor": extractor_name,
        "extractor_version": str(getattr(spec, "version", "")),
        "feature_dim": int(spec.feature_dim), "num_classes": int(spec.num_classes),
        "num_samples": int(num_samples), "image_size": int(image_size), "channels": channels, "keep": int(keep),
        "permutation_seed": PERMUTATION_SEED, "preprocess_version": PREPROCESS_VERSION,
        **_folder_fingerprint(dataset),
    }


def cache_path(key: dict[str, Any]) -> Path:
    """``cache_dir("stats")/<readable prefix>-<hash of key>.npz``."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    readable = f"{key['dataset']}-{key['split']}-{key['extractor']}-{key['num_samples']}-{key['image_size']}px"
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", readable)[:80]
    return cache_dir("stats") / f"{readable}-{digest}.npz"


def _batches(images: torch.Tensor, batch_size: int) -> Iterator[torch.Tensor]:
    for start in range(0, images.shape[0], batch_size):
        yield images[start:start + batch_size]


def reference_features(registry: Registry, dataset: str, split: str, extractor_name: str, num_samples: int,
                       image_size: int, channels: int | None, data_dir: str | Path | None = None,
                       device: str | torch.device = "cpu", *, keep: int = 10000, batch_size: int = 100,
                       extractor: FeatureExtractor | None = None, use_cache: bool = True,
                       progress: ProgressFactory = no_progress) -> FeatureSet:
    """Real-image features of ``dataset``/``split`` (labels in ``.labels`` when the dataset has them), cached.

    ``extractor`` reuses an already built instance of ``extractor_name``; otherwise it is built on ``device``.
    ``progress`` opens a bar while features are computed (not when they come from the cache).
    """
    from ganzoo.data import load_dataset

    device = select_device(str(device))
    if num_samples < 1:
        raise MetricError(f"the number of reference samples must be positive, got {num_samples}")
    spec = registry.extractor(extractor_name)
    key = cache_key(dataset, split, extractor_name, spec, num_samples, image_size, channels, keep)
    path = cache_path(key)
    if use_cache and path.is_file():
        try:
            cached = FeatureSet.load(path, dim=spec.feature_dim)
            if cached.meta.get("cache_key") == key:
                return cached
        except GanzooError:
            pass  # unreadable or stale: recompute and overwrite

    data = load_dataset(registry, dataset, split=split, image_size=image_size, channels=channels, root=data_dir)
    if data.kind != "image":
        raise MetricError(f"dataset {dataset!r} holds {data.kind}, not images; image metrics do not apply")
    order = torch.from_numpy(reference_order(len(data), num_samples))
    images = data.data[order]
    if extractor is None:
        extractor = spec.build(device=device)
    bar = progress(f"{extractor_name} features of {dataset} {split} (cached afterwards)", len(images), "img")
    try:
        features = extract(extractor, _batches(images, batch_size), device=device, keep=keep, progress=bar.update)
    finally:
        bar.close()
    if data.labels is not None:
        features.labels = data.labels[order].numpy().astype(np.int64)
    features.meta.update(cache_key=key, source=f"{dataset}/{split}", num_classes=int(data.num_classes))
    if use_cache:
        try:
            features.save(path)
        except OSError as exc:  # an unwritable cache costs a recomputation next time, not this result
            features.meta["cache_error"] = f"could not write {path}: {exc}"
    return features
