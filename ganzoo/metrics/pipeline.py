"""From images to scores: extract a :class:`FeatureSet` per image source, then :func:`score` two of them.

A FeatureSet holds what every metric needs and nothing that grows without bound except logits: float64 streaming
statistics (FID), the first ``keep`` raw features as float32 (KID, precision/recall), the logits of every sample
when the extractor classifies (Inception Score, mode coverage) and the real labels when known. It saves to a
pickle-free ``.npz`` whose ``mu`` / ``sigma`` keys pytorch-fid reads as its own statistics.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganzoo.engine.device import select_device
from ganzoo.errors import MetricError
from ganzoo.metrics.coverage import mode_coverage
from ganzoo.metrics.exact import full_float32
from ganzoo.metrics.extractor import FeatureExtractor
from ganzoo.metrics.frechet import frechet_distance
from ganzoo.metrics.inception_score import inception_score
from ganzoo.metrics.kid import kernel_inception_distance
from ganzoo.metrics.precision_recall import precision_recall
from ganzoo.metrics.stats import StreamingStats, read_npz, stats_from_arrays, write_npz

FORMAT = "ganzoo-features-1"
METRIC_KEYS = ("fid", "kid_mean", "kid_std", "precision", "recall", "is_mean", "is_std",
               "modes_covered", "modes_total", "mode_kl")


@dataclass
class FeatureSet:
    """The features of one image source.

    ``features`` (float32 ``(min(n, keep), d)``), ``logits`` (float32 ``(m, K)``) and ``labels`` (int64, aligned
    with the first rows of both) are None when absent, e.g. for statistics loaded from a pytorch-fid file.
    ``meta`` is JSON-serialisable provenance (extractor, dataset, sample count...).
    """

    stats: StreamingStats
    features: np.ndarray | None = None
    logits: np.ndarray | None = None
    labels: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int | None:
        """How many samples the statistics summarise (None when a loaded file did not say)."""
        return self.stats.n

    @property
    def dim(self) -> int:
        return self.stats.dim

    def save(self, path: str | Path, stats_only: bool = False) -> None:
        """Write an ``.npz`` atomically: ``mu``, ``sigma``, ``n`` and, unless ``stats_only``, the kept arrays."""
        arrays: dict[str, np.ndarray] = dict(self.stats.arrays())
        arrays["format"] = np.asarray(FORMAT)
        arrays["meta"] = np.asarray(json.dumps(self.meta, sort_keys=True))
        if not stats_only:
            for key in ("features", "logits", "labels"):
                value = getattr(self, key)
                if value is not None:
                    arrays[key] = value
        write_npz(path, arrays)

    @classmethod
    def load(cls, path: str | Path, dim: int | None = None) -> FeatureSet:
        """Read a file written by :meth:`save`, or any ``.npz`` with pytorch-fid ``mu`` / ``sigma`` arrays."""
        arrays = read_npz(path)
        stats = stats_from_arrays(arrays, str(path), dim)
        features, logits, labels = (arrays.get(key) for key in ("features", "logits", "labels"))
        if features is not None and (features.ndim != 2 or features.shape[1] != stats.dim
                                     or features.dtype.kind != "f"):
            raise MetricError(f"{path}: features have shape {features.shape}; expected (m, {stats.dim}) floats")
        if logits is not None and (logits.ndim != 2 or logits.dtype.kind != "f"):
            raise MetricError(f"{path}: logits must be a 2-D float array, got shape {logits.shape}")
        if labels is not None and (labels.ndim != 1 or labels.dtype.kind not in "iu"):
            raise MetricError(f"{path}: labels must be a 1-D integer array, got shape {labels.shape}")
        meta: dict[str, Any] = {}
        if "meta" in arrays:
            try:
                meta = json.loads(str(arrays["meta"]))
            except json.JSONDecodeError as exc:
                raise MetricError(f"{path}: its meta record is not JSON ({exc})") from exc
            if not isinstance(meta, dict):
                raise MetricError(f"{path}: its meta record is not a JSON object")
        return cls(stats, features, logits, labels.astype(np.int64) if labels is not None else None, meta)


def _check_batch(batch: Any) -> torch.Tensor:
    if not isinstance(batch, torch.Tensor) or batch.dtype != torch.uint8 or batch.dim() != 4:
        got = f"{batch.dtype} {tuple(batch.shape)}" if isinstance(batch, torch.Tensor) else type(batch).__name__
        raise MetricError(f"extract() takes uint8 (B, C, H, W) image batches, got {got}; "
                          "quantise generated images with ganzoo.data.to_uint8_images")
    return batch


def extract(extractor: FeatureExtractor, batches: Iterable[torch.Tensor], device: str | torch.device = "cpu",
            keep: int = 10000, keep_logits: int | None = None,
            progress: Callable[[int], None] | None = None) -> FeatureSet:
    """Run ``extractor`` over uint8 ``(B, C, H, W)`` batches under ``torch.inference_mode``, in full float32 (no
    TF32 on a GPU; :mod:`ganzoo.metrics.exact`).

    Every feature enters the statistics; the first ``keep`` are also kept raw (float32). Logits, when the
    extractor gives them, are kept for every sample unless ``keep_logits`` caps them. ``progress(n)`` is called
    after each batch of ``n`` images.
    """
    if keep < 0 or (keep_logits is not None and keep_logits < 0):
        raise MetricError("keep and keep_logits must not be negative")
    device = select_device(str(device))
    extractor.eval()
    stats: StreamingStats | None = None
    kept_features: list[torch.Tensor] = []
    kept_logits: list[torch.Tensor] = []
    n_features = n_logits = 0
    logit_cap = keep_logits if keep_logits is not None else float("inf")
    with torch.inference_mode():
        for batch in batches:
            images = _check_batch(batch).to(device)
            if images.shape[0] == 0:
                continue
            with full_float32():  # the extractor alone: images drawn by the batches' iterator keep the caller's
                out = extractor(images)  # settings, as they would when saved to files and scored from there
            feats, logits = out[0], out[1]
            if feats.dim() != 2 or feats.shape[0] != images.shape[0]:
                raise MetricError(f"extractor {type(extractor).__name__} returned features of shape "
                                  f"{tuple(feats.shape)} for {images.shape[0]} images")
            if stats is None:
                stats = StreamingStats(feats.shape[1])
            stats.update(feats)
            if n_features < keep:
                take = feats[: keep - n_features].float().cpu()
                kept_features.append(take)
                n_features += take.shape[0]
            if logits is not None and n_logits < logit_cap:
                take = logits[: int(min(logit_cap - n_logits, logits.shape[0]))].float().cpu()
                kept_logits.append(take)
                n_logits += take.shape[0]
            if progress is not None:
                progress(images.shape[0])
    if stats is None:
        raise MetricError("no images to extract features from")
    features = torch.cat(kept_features).numpy() if kept_features else None
    logits_arr = torch.cat(kept_logits).numpy() if kept_logits else None
    meta = {"extractor": type(extractor).__name__, "num_samples": stats.n}
    return FeatureSet(stats, features, logits_arr, None, meta)


def score(real: FeatureSet, fake: FeatureSet, real_labels: np.ndarray | torch.Tensor | None = None,
          num_classes: int = 0, *, kid_subsets: int = 100, kid_subset_size: int = 1000, pr_k: int = 3,
          is_splits: int = 10, seed: int = 0, device: str | torch.device = "auto") -> dict[str, Any]:
    """Every metric that applies to ``fake`` against ``real``.

    Returns the keys of :data:`METRIC_KEYS` (None for a metric that does not apply, with the reason under
    ``skipped[name]``) plus ``num_real``, ``num_fake``, ``feature_dim``, ``kid_subset_size``, ``pr_k`` and the
    full ``mode_coverage`` record when computed. ``real_labels`` defaults to ``real.labels``; mode coverage needs
    them and ``num_classes`` equal to the extractor's class count (the classifier must classify this dataset).
    """
    device = select_device(str(device))  # KID and precision/recall run there (a GPU when "auto" finds one)
    if real.dim != fake.dim:
        raise MetricError(f"real features are {real.dim}-d and fake features {fake.dim}-d; "
                          "were they made by different extractors?")
    result: dict[str, Any] = {"num_real": real.n, "num_fake": fake.n, "feature_dim": real.dim}
    result.update({key: None for key in METRIC_KEYS})
    skipped: dict[str, str] = {}

    def attempt(names: tuple[str, ...], compute) -> Any:
        try:
            values = compute()
        except MetricError as exc:
            for name in names:
                skipped[name] = str(exc)
            return None
        for name, value in zip(names, values, strict=True):
            result[name] = value
        return values

    attempt(("fid",), lambda: (frechet_distance(real.stats.mean, real.stats.covariance, fake.stats.mean,
                                                fake.stats.covariance, real.n, fake.n),))

    if real.features is None or fake.features is None:
        reason = "no raw features kept for the {} set (statistics-only source)".format(
            "real" if real.features is None else "fake")
        for name in ("kid_mean", "kid_std", "precision", "recall"):
            skipped[name] = reason
    else:
        result["kid_subset_size"] = min(kid_subset_size, len(real.features), len(fake.features))
        attempt(("kid_mean", "kid_std"), lambda: kernel_inception_distance(
            real.features, fake.features, kid_subsets, kid_subset_size, seed, device))
        result["pr_k"] = pr_k
        with full_float32():  # float32 distances: a GPU would otherwise take TF32 where the caller allows it
            attempt(("precision", "recall"), lambda: precision_recall(real.features, fake.features, pr_k,
                                                                       device=device))

    if fake.logits is None:
        for name in ("is_mean", "is_std", "modes_covered", "modes_total", "mode_kl"):
            skipped[name] = "the extractor gives no class logits"
    else:
        attempt(("is_mean", "is_std"), lambda: inception_score(fake.logits, is_splits))
        labels = real_labels if real_labels is not None else real.labels
        coverage_names = ("modes_covered", "modes_total", "mode_kl")
        if labels is None:
            reason = "the real images have no labels"
        elif num_classes < 1:
            reason = "no class count given for the real dataset"
        elif fake.logits.shape[1] != num_classes:
            reason = (f"the extractor's {fake.logits.shape[1]} classes are not the dataset's {num_classes} "
                      "classes")
        else:
            reason = ""
        if reason:
            for name in coverage_names:
                skipped[name] = reason
        else:
            record = attempt(("mode_coverage",), lambda: (mode_coverage(fake.logits, labels, num_classes),))
            if record is not None:
                cov = record[0]
                result.update(modes_covered=cov["classes_covered"], modes_total=cov["num_classes"],
                              mode_kl=cov["kl_real_fake"])
            else:
                reason = skipped.pop("mode_coverage")
                for name in coverage_names:
                    skipped[name] = reason
    result["skipped"] = skipped
    return result
