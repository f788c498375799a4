"""Datasets: what providers return, and the one function the engine and metrics use to get a split."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ganzoo.data.base import ArrayData, DataRequest, to_uint8_images
from ganzoo.errors import DataError
from ganzoo.registry import Registry

__all__ = ["ArrayData", "DataRequest", "load_dataset", "parse_dataset_name", "to_uint8_images"]


def parse_dataset_name(name: str) -> tuple[str, str | None]:
    """``"folder:PATH"`` -> ``("folder", "PATH")``; ``"mnist"`` -> ``("mnist", None)``."""
    base, sep, argument = name.partition(":")
    return base, (argument if sep else None)


def load_dataset(registry: Registry, name: str, split: str = "train", image_size: int = 32,
                 channels: int | None = None, root: str | Path | None = None, seed: int = 0,
                 download: bool = True, skip_bad: bool = False) -> ArrayData:
    """Load one split of dataset ``name`` (``name:ARG`` for datasets that take an argument).

    ``skip_bad`` leaves out files that cannot be decoded (listed in ``ArrayData.skipped``) instead of failing.
    """
    base, argument = parse_dataset_name(name)
    spec = registry.dataset(base)
    if spec.takes_argument and not argument:
        raise DataError(f"dataset {base!r} needs an argument: use --dataset {base}:ARG")
    if argument and not spec.takes_argument:
        raise DataError(f"dataset {base!r} takes no argument (got {name!r})")
    request = DataRequest(split=split, image_size=image_size, channels=channels,
                          root=Path(root) if root else None, argument=argument, seed=seed, download=download,
                          skip_bad=skip_bad)
    data = spec.load(request)
    if not isinstance(data, ArrayData):
        raise DataError(f"dataset {base!r} returned {type(data).__name__}, not ganzoo.data.ArrayData")
    if not data.class_names and spec.class_names and len(spec.class_names) == data.num_classes:
        data = dataclasses.replace(data, class_names=tuple(spec.class_names))
    return data
