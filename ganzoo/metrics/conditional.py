"""Metrics of class-conditional generators: class accuracy under a classifier, and intra-FID.

- **Class accuracy**: the share of generated samples that a classifier trained on the real data (for MNIST the
  packaged ``mnist-classifier``) assigns to the class they were generated for; overall, per class, and the full
  confusion matrix (rows: requested class, columns: predicted class).
- **Intra-FID** (Miyato & Koyama 2018): the FID of each class's generated samples against the same class's real
  test samples, averaged over classes, at a stated number of samples per class. Each class's FID needs more samples
  than feature dimensions, so with 2048-d Inception features it needs more than 2048 test images per class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganzoo.errors import MetricError
from ganzoo.metrics.frechet import frechet_distance
from ganzoo.metrics.stats import StreamingStats


def class_accuracy(logits: np.ndarray | torch.Tensor, requested: np.ndarray | torch.Tensor,
                   num_classes: int) -> dict[str, Any]:
    """Accuracy of arg-max ``logits`` ``(N, K)`` against the ``requested`` labels ``(N,)``: overall, per class and
    the confusion matrix (counts; row = requested class, column = predicted class)."""
    logits, requested = np.asarray(logits), np.asarray(requested).astype(np.int64)
    if logits.ndim != 2 or logits.shape[1] != num_classes or len(logits) != len(requested) or len(logits) == 0:
        raise MetricError(f"class accuracy needs (N, {num_classes}) logits and N labels, got {logits.shape} and "
                          f"{requested.shape}")
    predicted = logits.argmax(axis=1)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (requested, predicted), 1)
    per_class = confusion.diagonal() / np.maximum(confusion.sum(axis=1), 1)
    return {"accuracy": float((predicted == requested).mean()), "per_class": per_class.tolist(),
            "confusion": confusion.tolist(), "num_samples": int(len(requested))}


def intra_fid(real_features: np.ndarray, real_labels: np.ndarray, fake_features: np.ndarray,
              fake_labels: np.ndarray, num_classes: int, per_class: int) -> dict[str, Any]:
    """Mean over classes of the FID between the first ``per_class`` real and generated features of each class.

    Raises :class:`MetricError` when a class has fewer than ``per_class`` samples on either side or ``per_class``
    does not exceed the feature dimension.
    """
    dim = real_features.shape[1]
    if per_class <= dim:
        raise MetricError(f"intra-FID with {dim}-d features needs more than {dim} samples per class, got "
                          f"{per_class}")
    fids = []
    for c in range(num_classes):
        sides = []
        for features, labels, what in ((real_features, real_labels, "real"), (fake_features, fake_labels, "fake")):
            rows = np.flatnonzero(np.asarray(labels) == c)[:per_class]
            if len(rows) < per_class:
                raise MetricError(f"class {c} has {len(rows)} {what} samples, fewer than {per_class}")
            stats = StreamingStats(dim)
            stats.update(torch.from_numpy(np.ascontiguousarray(features[rows])))
            sides.append(stats)
        real, fake = sides
        fids.append(frechet_distance(real.mean, real.covariance, fake.mean, fake.covariance, real.n, fake.n))
    return {"intra_fid": float(np.mean(fids)), "per_class": [float(f) for f in fids], "per_class_n": per_class}
