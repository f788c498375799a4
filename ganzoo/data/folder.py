"""``folder:PATH``: every image under PATH (recursively), as it comes, brought to one size and one colour mode.

The conventions are torchvision's, so a folder gives what ``ImageFolder`` with ``Resize(S)`` + ``CenterCrop(S)``
would:

- **size**: each image is resized so that its shorter side is ``--image-size`` (bilinear, antialiased), then the
  centre square is cut out. Images of any size and aspect ratio mix freely; square ones are only resized.
- **colour**: grayscale, RGB, RGBA, palette and 16-bit images are converted with PIL (alpha dropped, as
  ``ImageFolder``'s loader does) to the requested channels; without ``--channels``, one colour image anywhere makes
  the whole folder RGB, else it is grayscale. A palette image (GIF, PNG "P") is colour when any entry of its
  palette has R, G and B unequal, used or not (so no pixel needs decoding to tell), else grayscale.
- **files**: ``.png .jpg .jpeg .bmp .gif .webp .tif .tiff`` in any letter case, in nested folders; hidden files
  (a leading ``.``) are skipped.
- **labels**: when every image lies inside a first-level subfolder (``PATH/cat/...``, ``PATH/dog/...``), the
  sorted subfolder names are the classes and their indices the labels, as ``ImageFolder`` assigns them. Images
  directly in PATH make the folder unlabelled.
- **split**: there is no official one: ``test`` is a fixed, seeded 10% of the files (at least one) and ``train``
  the rest, so metrics never score against training images. Skipping a bad file moves no other file between
  splits.
- **bad files**: a file that cannot be decoded is named in the error; with ``skip_bad`` it is left out instead and
  listed in ``ArrayData.skipped``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganzoo.data.base import ArrayData, DataRequest
from ganzoo.data.transforms import convert_channels, resize_center_crop
from ganzoo.errors import DataError

EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
TEST_FRACTION = 0.1
# what config.json records as the preprocessing of a folder
PREPROCESSING = ("resize the shorter side to image_size (bilinear, antialiased), then center-crop "
                 "image_size x image_size (torchvision Resize + CenterCrop); PIL mode conversion to the channels")

_GRAY_MODES = ("1", "L", "LA", "La", "I;16", "I;16B", "I;16L", "I;16N", "I")
_PALETTE_MODES = ("P", "PA")  # grayscale or colour, as their palette says
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_CHUNK = 256  # images decoded at a time: memory holds one chunk at full size, the rest already resized


@dataclass(frozen=True)
class Listing:
    """The images of a folder, their labels and their sizes (read from the headers only)."""

    files: list[Path]
    labels: list[int] | None  # one per file; None when the folder is unlabelled
    classes: tuple[str, ...]  # class names, index = label
    mode: str  # "L" or "RGB": what the readable files hold together
    sizes: list[tuple[int, int] | None]  # (width, height) per file; None for a file whose header is unreadable
    bad: dict[Path, str]  # files whose header could not be read, and why (only with skip_bad)


def image_files(folder: Path) -> list[Path]:
    """Image files under ``folder``, sorted, hidden files skipped."""
    try:
        return sorted(p for p in folder.rglob("*")
                      if p.suffix.lower() in EXTENSIONS and p.is_file() and not p.name.startswith("."))
    except OSError as exc:
        raise DataError(f"cannot list image folder {folder}: {exc.strerror or exc}") from exc


def class_labels(folder: Path, files: Sequence[Path]) -> tuple[list[int] | None, tuple[str, ...]]:
    """ImageFolder's labels: the sorted first-level subfolders are the classes, when every file lies in one."""
    tops = [path.relative_to(folder).parts for path in files]
    if not tops or any(len(parts) < 2 for parts in tops):
        return None, ()
    classes = tuple(sorted({parts[0] for parts in tops}))
    index = {name: i for i, name in enumerate(classes)}
    return [index[parts[0]] for parts in tops], classes


def split_indices(n: int, split: str) -> list[int]:
    """Indices of the files in ``split`` out of ``n``: a fixed seeded 10% (at least one) for ``test``."""
    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; use train or test")
    if n < 2:
        return list(range(n))  # too few to hold any out; both splits see the same file
    order = np.random.default_rng(0).permutation(n)
    n_test = max(1, int(round(n * TEST_FRACTION)))
    return sorted(int(i) for i in (order[:n_test] if split == "test" else order[n_test:]))


def split_files(files: list[Path], split: str) -> list[Path]:
    return [files[i] for i in split_indices(len(files), split)]


def _problem(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _bad(path: Path, reason: str) -> DataError:
    return DataError(f"cannot read image {path}: {reason} (`ganzoo train --skip-bad-images` leaves such files out)")


def scan(folder: Path, skip_bad: bool = False) -> Listing:
    """List ``folder`` and read every file's header (cheap: nothing is decoded).

    Every file is checked whichever split it falls in, so a bad file is reported when training starts rather than
    when a benchmark later reads the held-out split.
    """
    files = image_files(folder)
    labels, classes = class_labels(folder, files)
    sizes: list[tuple[int, int] | None] = []
    bad: dict[Path, str] = {}
    gray = True
    for path in files:
        try:
            with Image.open(path) as img:
                size = img.size
                gray = gray and is_gray(img)  # once the folder is colour, no need to look further
        except Exception as exc:  # noqa: BLE001 - PIL raises many types for a broken file; all mean the same
            if not skip_bad:
                raise _bad(path, _problem(exc)) from exc
            bad[path] = _problem(exc)
            sizes.append(None)
            continue
        sizes.append(size)
    return Listing(files, labels, classes, "L" if gray else "RGB", sizes, bad)


def is_gray(img: Image.Image) -> bool:
    """Whether ``img`` holds no colour, judged from its header: a gray mode, or a palette of grays only."""
    if img.mode in _GRAY_MODES:
        return True
    if img.mode not in _PALETTE_MODES or img.palette is None:
        return False
    # the palette as the file stores it (GIF/PNG RGB, BMP BGRX, TIFF RGB;L): unpacked by a 1-pixel image rather
    # than img.getpalette(), which would decode every pixel of img first
    try:
        rawmode, data = img.palette.getdata()
        probe = Image.new("P", (1, 1))
        probe.putpalette(data, rawmode)
        rgb = probe.getpalette() or []
    except ValueError:  # a raw mode only the file's own plugin unpacks
        rgb = img.getpalette() or []
    return rgb[0::3] == rgb[1::3] == rgb[2::3]


def _to_mode(img: Image.Image, mode: str) -> np.ndarray:
    """``img`` as a uint8 array in ``mode`` ("L" or "RGB")."""
    if img.mode in _SIXTEEN_BIT:  # PIL's convert("L") clips 16-bit values at 255 instead of scaling them
        wide = np.asarray(img, dtype=np.int64)
        img = Image.fromarray((np.clip(wide, 0, 65535) >> 8).astype(np.uint8), "L")
    elif img.mode == "PA" or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")  # the route PIL asks for: converting such a palette straight to RGB warns
    return np.asarray(img.convert(mode), dtype=np.uint8)


def read_images(files: Sequence[Path], mode: str, size: int | None = None,
                skip_bad: bool = False) -> tuple[torch.Tensor, list[int], list[tuple[Path, str]]]:
    """Decode ``files`` in PIL ``mode`` ("L" or "RGB") to one uint8 ``(N, C, S, S)`` tensor.

    With ``size``, every image is resized on its shorter side and centre-cropped to ``size``; without it the
    images must already share one size. Returns the images, the indices of ``files`` they came from, and the
    files skipped as unreadable (only with ``skip_bad``; otherwise the first one raises :class:`DataError`).
    """
    out: list[torch.Tensor] = []
    kept: list[int] = []
    bad: list[tuple[Path, str]] = []
    first: tuple[Path, tuple[int, ...]] | None = None
    for start in range(0, len(files), _CHUNK):
        by_shape: dict[tuple[int, ...], list[tuple[int, np.ndarray]]] = {}
        for i in range(start, min(start + _CHUNK, len(files))):
            path = files[i]
            try:
                with Image.open(path) as img:
                    arr = _to_mode(img, mode)
            except Exception as exc:  # noqa: BLE001 - truncated data surfaces only when decoding
                if not skip_bad:
                    raise _bad(path, _problem(exc)) from exc
                bad.append((path, _problem(exc)))
                continue
            if size is None:
                if first is None:
                    first = (path, arr.shape)
                elif arr.shape != first[1]:
                    raise DataError(f"images differ in size: {first[0]} is {first[1][1]}x{first[1][0]}, "
                                    f"{path} is {arr.shape[1]}x{arr.shape[0]}")
            by_shape.setdefault(arr.shape, []).append((i, arr))
        # images of one shape are resized together: the same numbers as one at a time, far fewer calls
        chunk: list[tuple[int, torch.Tensor]] = []
        for group in by_shape.values():
            x = torch.from_numpy(np.stack([arr for _, arr in group]))
            x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
            if size is not None:
                x = resize_center_crop(x, size)
            chunk += [(i, x[j]) for j, (i, _) in enumerate(group)]
        chunk.sort(key=lambda item: item[0])
        kept += [i for i, _ in chunk]
        out += [image for _, image in chunk]
    if not out:
        raise DataError(f"none of the {len(files)} images could be read" if files else "no images to read")
    return torch.stack(out).contiguous(), kept, bad


def load_folder(request: DataRequest) -> ArrayData:
    if not request.argument:
        raise DataError("folder dataset needs a path: use --dataset folder:PATH")
    if request.root is not None:
        raise DataError("--data-dir is for torchvision-format datasets; folder:PATH reads PATH itself")
    folder = Path(request.argument).expanduser()
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist or is not a directory")
    if not image_files(folder):
        raise DataError(f"image folder {folder} holds no images ({', '.join(sorted(EXTENSIONS))})")
    listing = scan(folder, request.skip_bad)
    if len(listing.bad) == len(listing.files):
        raise DataError(f"image folder {folder} holds no readable images ({len(listing.bad)} skipped)")
    chosen = [i for i in split_indices(len(listing.files), request.split) if listing.sizes[i] is not None]
    if not chosen:
        raise DataError(f"the {request.split} split of image folder {folder} holds no readable images")
    mode = {1: "L", 3: "RGB"}.get(request.channels or 0, listing.mode)
    images, kept, bad = read_images([listing.files[i] for i in chosen], mode, request.image_size, request.skip_bad)
    labels = None
    if listing.labels is not None:
        labels = torch.tensor([listing.labels[chosen[k]] for k in kept], dtype=torch.int64)
    skipped = tuple(f"{path}: {reason}" for path, reason in [*listing.bad.items(), *bad])
    return ArrayData(convert_channels(images, request.channels), labels, "image", len(listing.classes),
                     class_names=listing.classes, skipped=skipped, preprocessing=PREPROCESSING)
