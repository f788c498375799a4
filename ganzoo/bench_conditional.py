"""The benchmark's scores of a class-conditional run: class accuracy (with a confusion matrix plot), intra-FID and
the Classification Accuracy Score with its real-data ceiling and the data-augmentation pair (definitions in
:mod:`ganzoo.metrics.conditional`, :mod:`ganzoo.metrics.cas` and docs/metrics.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganzoo.data import load_dataset
from ganzoo.errors import MetricError
from ganzoo.progress import ProgressFactory
from ganzoo.registry import Registry

CAS_GENERATED_PER_CLASS = 1000  # generated training images per class for CAS (10,000 for ten classes)
INTRA_FID_MAX_PER_CLASS = 1000


def _classifier_name(registry: Registry, dataset: str, num_classes: int) -> str | None:
    """An extractor that classifies this dataset's classes (``mnist-classifier`` for mnist), if one is registered."""
    for name in registry.names("extractor"):
        spec = registry.extractor(name)
        if spec.num_classes == num_classes and dataset in spec.datasets:
            return name
    return None


def conditional_scores(registry: Registry, loaded: Any, dataset: str, sample_seed: int, seed: int,
                       device: torch.device, out: Path, progress: ProgressFactory,
                       log: Callable[[str], None]) -> dict[str, Any]:
    """Every conditional score that applies; a score that cannot be computed is listed under ``skipped`` with why."""
    from ganzoo.bench_sampling import draw_samples, image_batches
    from ganzoo.metrics.cas import LabelledImages, classification_accuracy_scores
    from ganzoo.metrics.conditional import class_accuracy, intra_fid
    from ganzoo.metrics.pipeline import extract
    from ganzoo.plots import plot_confusion

    cfg, classes, names = loaded.config, loaded.num_classes, loaded.class_names
    channels = loaded.generator.data_shape[0]
    test = load_dataset(registry, cfg.dataset, split="test", image_size=cfg.image_size, channels=channels,
                        root=cfg.data_dir)
    train = load_dataset(registry, cfg.dataset, split="train", image_size=cfg.image_size, channels=channels,
                         root=cfg.data_dir)
    if test.labels is None or train.labels is None:
        raise MetricError(f"dataset {cfg.dataset!r} has no labels to score a conditional run against")
    result: dict[str, Any] = {"num_classes": classes, "class_names": list(names), "skipped": {}}
    counts = torch.bincount(test.labels, minlength=classes)
    per_class = int(min(INTRA_FID_MAX_PER_CLASS, int(counts.min())))
    n_gen = max(CAS_GENERATED_PER_CLASS, per_class) * classes
    labels = torch.arange(n_gen) % classes
    bar = progress(f"sampling {n_gen} labelled images for the class scores", n_gen, "img")
    try:
        generated = draw_samples(loaded.sampler, n_gen, sample_seed + 1, device, progress=bar.update, labels=labels)
    finally:
        bar.close()

    classifier = _classifier_name(registry, dataset, classes)
    if classifier is None:
        reason = f"no registered extractor classifies {dataset!r}'s {classes} classes"
        result["skipped"].update(class_accuracy=reason, intra_fid=reason)
    else:
        extractor = registry.extractor(classifier).build(device=device)
        fake = extract(extractor, image_batches(generated), device=device, keep=len(generated),
                       keep_logits=len(generated))
        real = extract(extractor, image_batches(test.data), device=device, keep=len(test.data), keep_logits=0)
        accuracy = class_accuracy(fake.logits, labels.numpy(), classes)
        result["class_accuracy"] = {"classifier": classifier, **accuracy}
        plot_confusion(np.asarray(accuracy["confusion"]), names, out / "confusion.png",
                       title=f"{loaded.spec.name}: {classifier} on generated samples "
                             f"(accuracy {accuracy['accuracy']:.1%})")
        result["intra_fid"] = {classifier: {"extractor": classifier, **intra_fid(
            real.features, test.labels.numpy(), fake.features, labels.numpy(), classes, per_class)}}
    dims = {name: registry.extractor(name).feature_dim for name in registry.names("extractor")}
    for name, dim in dims.items():
        if name != classifier and per_class <= dim:
            result["skipped"][f"intra_fid/{name}"] = (
                f"{dim}-d features need more than {dim} images per class; intra-FID uses {per_class} per class "
                f"({cfg.dataset}'s smallest test class has {int(counts.min())})")

    log("training the fixed classifiers of the Classification Accuracy Score")
    n_cas = CAS_GENERATED_PER_CLASS * classes
    total = 4 * 400
    bar = progress("Classification Accuracy Score (4 classifiers)", total, "step")
    try:
        result["cas"] = classification_accuracy_scores(
            LabelledImages(generated[:n_cas], labels[:n_cas]), LabelledImages(train.data, train.labels),
            LabelledImages(test.data, test.labels), classes, device=device, progress=bar.update)
    except MetricError as exc:
        result["skipped"]["cas"] = str(exc)
    finally:
        bar.close()
    return result
