"""Mode coverage: how many classes a generator produces, and how far its class histogram is from the data's.

Each generated sample is assigned the arg-max class of a classifier's logits.

- A class is *covered* when at least ``min_share`` of the generated samples are assigned to it. The default is a
  tenth of a uniform share, ``0.1 / num_classes`` (1% of the samples for 10 classes), so a few stray samples do
  not count as a mode while a class produced at a tenth of its fair rate still does.
- ``kl`` is ``KL(p_real || p_fake) = sum_c p_real(c) log(p_real(c) / p_fake(c))``: the real histogram weighs the
  terms, so a class the data has and the generator misses is punished heavily (mode dropping), while generating
  the rare classes too often costs little. ``p_fake`` is add-one (Laplace) smoothed,
  ``(count_c + 1) / (N + num_classes)``, which keeps a missed class finite (about ``p_real(c) log(p_real(c) N)``);
  ``p_real`` is the plain label histogram (``0 log 0 = 0``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ganzoo.errors import MetricError
from ganzoo.metrics.stats import ArrayLike


def class_histogram(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts of each class in ``labels`` (int array), length ``num_classes``."""
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise MetricError(f"labels must lie in [0, {num_classes}), got {labels.min()}..{labels.max()}")
    return np.bincount(labels, minlength=num_classes).astype(np.int64)


def mode_coverage(fake_logits: ArrayLike, real_labels: ArrayLike, num_classes: int,
                  min_share: float | None = None) -> dict[str, Any]:
    """Classes covered by the generated samples and ``KL(p_real || p_fake)`` of the class histograms.

    Returns ``classes_covered``, ``num_classes``, ``coverage`` (the covered fraction), ``kl_real_fake``,
    ``min_share`` (the threshold used) and both histograms as lists of counts.
    """
    logits = fake_logits.detach().cpu() if isinstance(fake_logits, torch.Tensor) else torch.as_tensor(fake_logits)
    labels = np.asarray(real_labels.cpu() if isinstance(real_labels, torch.Tensor) else real_labels)
    if num_classes < 1:
        raise MetricError(f"mode coverage needs num_classes >= 1, got {num_classes}")
    if logits.dim() != 2 or logits.shape[1] != num_classes:
        raise MetricError(f"fake logits have shape {tuple(logits.shape)}; expected (N, {num_classes})")
    if logits.shape[0] == 0 or labels.size == 0:
        raise MetricError("mode coverage needs at least one generated sample and one real label")
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise MetricError(f"real labels must be a 1-D integer array, got {labels.dtype} {labels.shape}")
    threshold = 0.1 / num_classes if min_share is None else float(min_share)
    if not 0.0 < threshold <= 1.0:
        raise MetricError(f"min_share must be in (0, 1], got {threshold}")

    fake_counts = class_histogram(logits.argmax(dim=1).numpy(), num_classes)
    real_counts = class_histogram(labels.astype(np.int64), num_classes)
    n_fake = int(fake_counts.sum())
    covered = int((fake_counts >= threshold * n_fake).sum())
    p_real = real_counts / real_counts.sum()
    p_fake = (fake_counts + 1.0) / (n_fake + num_classes)
    present = p_real > 0
    kl = float(np.sum(p_real[present] * np.log(p_real[present] / p_fake[present])))
    return {
        "classes_covered": covered,
        "num_classes": num_classes,
        "coverage": covered / num_classes,
        "kl_real_fake": kl,
        "min_share": threshold,
        "fake_histogram": fake_counts.tolist(),
        "real_histogram": real_counts.tolist(),
    }
