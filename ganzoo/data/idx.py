"""Reader for the IDX files MNIST and Fashion-MNIST ship as (``*-idx3-ubyte`` and ``*-idx1-ubyte``, maybe gzipped)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from ganzoo.errors import DataError

_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> torch.Tensor:
    """The array stored in an IDX file; anything malformed raises :class:`DataError` naming the file."""
    opener = gzip.open if str(path).endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError, zlib.error) as exc:  # a truncated .gz ends in EOFError, a garbled one in zlib.error
        raise DataError(f"cannot read {path}: {exc}") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise DataError(f"{path} is not an IDX file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path} is not an IDX file (its header is incomplete)")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(dims, dtype=object))
    if len(raw) - header != expected * dtype.itemsize:
        raise DataError(f"{path} is truncated or padded: the header promises {expected} values "
                        f"({'x'.join(map(str, dims))}), the file holds {(len(raw) - header) / dtype.itemsize:g}")
    data = np.frombuffer(raw, dtype=dtype, offset=header)
    return torch.from_numpy(data.reshape(dims).astype(np.int64 if ndim == 1 else np.uint8))


def find_idx(folder: Path, stem: str) -> Path | None:
    """``folder/stem`` or ``folder/stem.gz``, whichever exists."""
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None
