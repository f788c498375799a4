"""Classification Accuracy Score (Ravuri & Vinyals 2019, https://arxiv.org/abs/1905.10887).

A classifier trained on generated labelled samples alone, tested on the real test split: how well the generator's
class-conditional distributions stand in for the data's. Beside it, the same classifier trained on as many real
training images (the ceiling), and the data-augmentation case: a small real subset alone against that subset plus
generated samples. The classifier, its optimiser, its training budget and its seeds are fixed
(:data:`CAS_STEPS` steps of :data:`CAS_BATCH` images, Adam :data:`CAS_LR`, seed :data:`CAS_SEED`), so scores compare
across variants and runs; the budget is a number of steps, not epochs, so that a small training set gets as much
training as a large one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ganzoo.errors import MetricError

CAS_STEPS = 400
CAS_BATCH = 128
CAS_LR = 1e-3
CAS_SEED = 0


class SmallClassifier(nn.Module):
    """Three conv-pool-BN-ReLU blocks and a linear layer over a 4x4 map: images of any size >= 8, 1 or 3 channels."""

    def __init__(self, channels: int, num_classes: int, width: int = 16) -> None:
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            # pooling before batch norm and ReLU: the same kind of block at a quarter of their cost
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(c_out),
                    nn.ReLU(True)]

        self.net = nn.Sequential(*block(channels, width), *block(width, 2 * width), *block(2 * width, 4 * width),
                                 nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(4 * width * 16, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass(frozen=True)
class LabelledImages:
    """uint8 images ``(N, C, H, W)`` with int64 labels ``(N,)``."""

    images: torch.Tensor
    labels: torch.Tensor

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4 or len(self.images) != len(self.labels):
            raise MetricError("labelled images must be uint8 (N, C, H, W) with one label each")

    def __add__(self, other: LabelledImages) -> LabelledImages:
        return LabelledImages(torch.cat([self.images, other.images]), torch.cat([self.labels, other.labels]))


def train_and_test(train: LabelledImages, test: LabelledImages, num_classes: int, seed: int = CAS_SEED,
                   device: torch.device | str = "cpu", progress: Callable[[int], None] | None = None) -> float:
    """Accuracy on ``test`` of :class:`SmallClassifier` trained on ``train`` with the fixed budget.

    Training draws only from its own seeded generators (no global random state changes)."""
    if len(train.images) < CAS_BATCH:
        raise MetricError(f"the classifier needs at least {CAS_BATCH} training images, got {len(train.images)}")
    rng = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = SmallClassifier(train.images.shape[1], num_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=CAS_LR)
    model.train()
    per_epoch = len(train.images) // CAS_BATCH
    for step in range(CAS_STEPS):
        if step % per_epoch == 0:  # a fresh permutation each epoch; the last incomplete batch is dropped
            order = torch.randperm(len(train.images), generator=rng)
        rows = order[(step % per_epoch) * CAS_BATCH:(step % per_epoch + 1) * CAS_BATCH]
        loss = F.cross_entropy(model(_as_input(train.images[rows]).to(device)), train.labels[rows].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if progress is not None:
            progress(1)
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(test.images), 500):
            logits = model(_as_input(test.images[start:start + 500]).to(device))
            correct += int((logits.argmax(1).cpu() == test.labels[start:start + 500]).sum())
    return correct / len(test.images)


def _as_input(images: torch.Tensor) -> torch.Tensor:
    return images.float().div(127.5).sub(1.0)


def balanced_subset(data: LabelledImages, per_class: int, num_classes: int, seed: int = CAS_SEED) -> LabelledImages:
    """``per_class`` images of each class, chosen with a fixed seed."""
    rng = torch.Generator().manual_seed(seed)
    rows = []
    for c in range(num_classes):
        members = torch.nonzero(data.labels == c).flatten()
        if len(members) < per_class:
            raise MetricError(f"class {c} has {len(members)} images, fewer than {per_class}")
        rows.append(members[torch.randperm(len(members), generator=rng)[:per_class]])
    rows_t = torch.cat(rows)
    return LabelledImages(data.images[rows_t], data.labels[rows_t])


def classification_accuracy_scores(generated: LabelledImages, real_train: LabelledImages, real_test: LabelledImages,
                                   num_classes: int, small_per_class: int = 100, device: torch.device | str = "cpu",
                                   progress: Callable[[int], None] | None = None) -> dict[str, float | int]:
    """CAS, its real-data ceiling and the augmentation pair, each a test-split accuracy:

    - ``cas``: trained on the generated samples alone;
    - ``real``: trained on as many real training images, balanced like the generated ones (the ceiling);
    - ``small_real``: trained on ``small_per_class`` real images per class;
    - ``small_real_plus_generated``: the same small subset plus all generated samples.
    """
    n_per_class = len(generated.images) // num_classes
    real = balanced_subset(real_train, n_per_class, num_classes)
    small = balanced_subset(real_train, small_per_class, num_classes)
    return {
        "cas": train_and_test(generated, real_test, num_classes, device=device, progress=progress),
        "real": train_and_test(real, real_test, num_classes, device=device, progress=progress),
        "small_real": train_and_test(small, real_test, num_classes, device=device, progress=progress),
        "small_real_plus_generated": train_and_test(small + generated, real_test, num_classes, device=device,
                                                    progress=progress),
        "num_generated": len(generated.images), "num_small_real": len(small.images), "num_test": len(real_test.images),
        "steps": CAS_STEPS, "batch_size": CAS_BATCH, "lr": CAS_LR, "seed": CAS_SEED,
    }
