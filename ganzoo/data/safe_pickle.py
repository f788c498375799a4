"""A restricted unpickler for the numeric data files we read (the MNIST asset, CIFAR-10 batches).

Only the globals needed to rebuild numpy arrays are admitted; any other global (``os.system``, ``builtins.eval``,
``subprocess.Popen``, ...) raises :class:`~ganzoo.errors.DataError` before anything runs.
"""

from __future__ import annotations

import io
import pickle
from typing import IO, Any

import numpy as np

from ganzoo.errors import DataError


def _reconstruct():
    # numpy 2 moved numpy.core to numpy._core; look the function up where this numpy keeps it
    try:
        from numpy._core.multiarray import _reconstruct as fn
    except ImportError:  # numpy < 2
        from numpy.core.multiarray import _reconstruct as fn
    return fn


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles containers of numpy arrays and plain Python values; refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in (("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct")):
            return _reconstruct()
        if (module, name) == ("numpy", "ndarray"):
            return np.ndarray
        if (module, name) == ("numpy", "dtype"):
            return np.dtype
        raise DataError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed in data files")


def load(fh: IO[bytes], encoding: str = "latin1") -> Any:
    """Unpickle numpy arrays (and tuples, lists, dicts, numbers, strings) from ``fh``, nothing else."""
    try:
        return NumpyOnlyUnpickler(fh, encoding=encoding).load()
    except DataError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise DataError(f"cannot read pickled arrays: {exc}") from exc


def loads(data: bytes, encoding: str = "latin1") -> Any:
    return load(io.BytesIO(data), encoding)
