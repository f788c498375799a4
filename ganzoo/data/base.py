"""The in-memory form every dataset provider returns, and the request it is given."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from ganzoo.errors import DataError


@dataclass(frozen=True)
class DataRequest:
    """What the engine or the metrics ask a dataset provider for."""

    split: str = "train"  # "train" or "test"
    image_size: int = 32  # images are resized (bilinear, antialiased) to image_size x image_size
    channels: int = 1  # 1 (grayscale) or 3 (RGB); providers convert
    root: Path | None = None  # --data-dir; None means the provider's default lookup
    argument: str | None = None  # the ARG of "name:ARG" (folder:PATH)
    seed: int = 0  # for generated data
    download: bool = True  # providers may download when online and nothing local is found
    skip_bad: bool = False  # leave out files that cannot be decoded (listed in ArrayData.skipped) instead of failing


@dataclass(frozen=True)
class ArrayData:
    """One split held in memory.

    ``data`` is uint8 ``(N, C, H, W)`` for images (exact pixels) or float32 ``(N, D)`` for points; ``labels`` is
    int64 ``(N,)`` or None, with ``class_names[label]`` naming a class when the provider knows the names.
    :meth:`to_model` maps a batch to what networks see: images to ``[-1, 1]`` floats.
    """

    data: torch.Tensor
    labels: torch.Tensor | None = None
    kind: str = "image"
    num_classes: int = 0
    class_names: tuple[str, ...] = ()  # one per class; empty: the class indices ("0", "1", ...) serve as names
    skipped: tuple[str, ...] = ()  # "PATH: reason" of each file left out as unreadable (DataRequest.skip_bad)
    preprocessing: str = ""  # how the provider brought the data to this shape, in words (recorded in config.json)

    def __post_init__(self) -> None:
        if len(self.data) == 0:
            raise DataError("the dataset is empty")
        if self.kind == "image" and (self.data.dtype != torch.uint8 or self.data.dim() != 4):
            raise DataError(f"image data must be uint8 (N, C, H, W), got {self.data.dtype} {tuple(self.data.shape)}")
        if self.labels is not None and len(self.labels) != len(self.data):
            raise DataError("labels and data differ in length")
        if self.labels is not None and self.labels.dtype != torch.int64:
            raise DataError(f"labels must be int64, got {self.labels.dtype}")
        if self.class_names and len(self.class_names) != self.num_classes:
            raise DataError(f"{len(self.class_names)} class names for {self.num_classes} classes")

    def names(self) -> tuple[str, ...]:
        """A name for each class: the dataset's own, else the class indices."""
        return self.class_names or tuple(str(i) for i in range(self.num_classes))

    def __len__(self) -> int:
        return len(self.data)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape[1:])

    def to_model(self, batch: torch.Tensor) -> torch.Tensor:
        """Images: uint8 [0, 255] -> float [-1, 1]; points pass through as float32."""
        if self.kind == "image":
            return batch.float().div_(127.5).sub_(1.0)
        return batch.float()


def to_uint8_images(x: torch.Tensor) -> torch.Tensor:
    """Map model output in [-1, 1] to uint8 pixels, rounding as an 8-bit image file would store them."""
    return x.detach().float().add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)
