"""``folder:PATH``: every image file under PATH (recursively), all of one size, loaded into memory.

There are no labels and no official split: ``test`` is a fixed, seeded 10% of the files (at least one) and
``train`` the rest, so metrics never score against training images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganzoo.data.base import ArrayData, DataRequest
from ganzoo.data.transforms import prepare_images
from ganzoo.errors import DataError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
TEST_FRACTION = 0.1


_GRAY_MODES = ("1", "L", "LA", "I;16", "I;16B", "I;16L", "I")


def image_files(folder: Path) -> list[Path]:
    """Image files under ``folder``, sorted, hidden files skipped."""
    try:
        return sorted(p for p in folder.rglob("*")
                      if p.suffix.lower() in EXTENSIONS and p.is_file() and not p.name.startswith("."))
    except OSError as exc:
        raise DataError(f"cannot list image folder {folder}: {exc.strerror or exc}") from exc


def split_files(files: list[Path], split: str) -> list[Path]:
    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; use train or test")
    if len(files) < 2:
        return files  # too few to hold any out; both splits see the same file
    order = np.random.default_rng(0).permutation(len(files))
    n_test = max(1, int(round(len(files) * TEST_FRACTION)))
    chosen = order[:n_test] if split == "test" else order[n_test:]
    return [files[i] for i in sorted(chosen)]


def _problem(path: Path, exc: BaseException) -> DataError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return DataError(f"cannot read image {path}: {reason}")


def scan_images(files: list[Path]) -> str:
    """Check every file's header (cheap: nothing is decoded); returns the PIL mode to load them in.

    Every file must be a readable image and all must share one size, whichever split they fall in, so a bad file
    is reported when training starts rather than when a benchmark later reads the held-out split.
    """
    first: tuple[Path, tuple[int, int]] | None = None
    gray = True
    for path in files:
        try:
            with Image.open(path) as img:
                size, mode = img.size, img.mode
        except Exception as exc:  # noqa: BLE001 - PIL raises many types for a broken file; all mean the same
            raise _problem(path, exc) from exc
        if first is None:
            first = (path, size)
        elif size != first[1]:
            raise DataError(f"images differ in size: {first[0]} is {first[1][0]}x{first[1][1]}, "
                            f"{path} is {size[0]}x{size[1]}; resize them to one size first")
        gray = gray and mode in _GRAY_MODES
    return "L" if gray else "RGB"


def read_images(files: list[Path], channels: int | None, mode: str | None = None) -> torch.Tensor:
    """Decode ``files`` to one uint8 (N, C, H, W) tensor; sizes must agree.

    ``channels`` 1 or 3 converts every image to grayscale or RGB; with None, ``mode`` ("L" or "RGB") decides, and
    without it the first image does.
    """
    mode = {1: "L", 3: "RGB"}.get(channels or 0) or mode
    arrays, first = [], None
    for path in files:
        try:
            with Image.open(path) as img:
                img = img.convert(mode or ("L" if img.mode in _GRAY_MODES else "RGB"))
                mode = mode or img.mode
                arr = np.asarray(img, dtype=np.uint8)
        except Exception as exc:  # noqa: BLE001 - truncated data surfaces only when decoding
            raise _problem(path, exc) from exc
        if first is None:
            first = (path, arr.shape)
        elif arr.shape != first[1]:
            raise DataError(f"images differ in size: {first[0]} is {first[1][1]}x{first[1][0]}, "
                            f"{path} is {arr.shape[1]}x{arr.shape[0]}; resize them to one size first")
        arrays.append(arr)
    if not arrays:
        raise DataError("no images to read")
    x = torch.from_numpy(np.stack(arrays))
    return x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()


def load_folder(request: DataRequest) -> ArrayData:
    if not request.argument:
        raise DataError("folder dataset needs a path: use --dataset folder:PATH")
    if request.root is not None:
        raise DataError("--data-dir is for torchvision-format datasets; folder:PATH reads PATH itself")
    folder = Path(request.argument).expanduser()
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist or is not a directory")
    files = image_files(folder)
    if not files:
        raise DataError(f"image folder {folder} holds no images ({', '.join(sorted(EXTENSIONS))})")
    mode = scan_images(files)
    images = read_images(split_files(files, request.split), request.channels, mode)
    return ArrayData(prepare_images(images, request.image_size, request.channels), None, "image", 0)
