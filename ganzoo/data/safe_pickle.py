"""A restricted unpickler for the numeric data files we read (the MNIST asset, CIFAR-10 batches, Animal-MNIST).

A pickle can name any importable callable and have it called while loading (``os.system``, ``builtins.eval``,
``subprocess.Popen``, ...). Here every global a pickle names goes through :meth:`NumpyOnlyUnpickler.find_class`,
which hands out only inert stand-ins for numpy's array, dtype and scalar constructors; anything else raises
:class:`~ganzoo.errors.DataError` before it can run. Not even numpy sees the pickle's instructions: the stand-ins
record what the pickle asks for, and once loading is done they are checked (plain numeric or string dtypes, a
shape whose size matches the bytes) and turned into arrays with ``np.frombuffer``. Containers, numbers, strings and
bytes need no globals and come through as they are.
"""

from __future__ import annotations

import io
import math
import pickle
from typing import IO, Any

import numpy as np

from ganzoo.errors import DataError

_KINDS = "biufcSU"  # bool, ints, floats, complex, bytes, str: no objects, no structured or datetime dtypes


class _DType:
    """What ``numpy.dtype(spec, align, copy)`` plus its ``__setstate__`` asked for."""

    def __init__(self, spec: Any = None, align: Any = False, copy: Any = False) -> None:
        self.spec, self.state = spec, None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def build(self) -> np.dtype:
        spec = self.spec.decode("latin1") if isinstance(self.spec, bytes) else self.spec
        if not isinstance(spec, str) or len(spec) > 8:
            raise DataError(f"refusing to unpickle the dtype {spec!r}: only numeric and string arrays are allowed")
        try:
            dtype = np.dtype(spec)
        except TypeError as exc:
            raise DataError(f"cannot read pickled arrays: unknown dtype {spec!r}") from exc
        if dtype.kind not in _KINDS or dtype.fields is not None:
            raise DataError(f"refusing to unpickle the dtype {spec!r}: only numeric and string arrays are allowed")
        state = self.state
        if state is None:
            return dtype
        if not isinstance(state, tuple) or len(state) < 8:
            raise DataError("cannot read pickled arrays: malformed dtype state")
        endian, names, fields, size = state[1], state[3], state[4], state[5]
        if names is not None or fields is not None or state[2] is not None:
            raise DataError("refusing to unpickle a structured dtype: only numeric and string arrays are allowed")
        endian = endian.decode("latin1") if isinstance(endian, bytes) else endian
        if isinstance(size, int) and size > 0 and dtype.kind in "SU" and size != dtype.itemsize:
            dtype = np.dtype(f"{dtype.kind}{size // 4 if dtype.kind == 'U' else size}")
        if endian in ("<", ">") and dtype.itemsize > 1 and dtype.kind not in "bS":
            dtype = dtype.newbyteorder(endian)
        return dtype


class _Array:
    """What ``numpy.core.multiarray._reconstruct`` plus ``ndarray.__setstate__`` asked for."""

    def __init__(self, subtype: Any = None, shape: Any = None, dtype: Any = None) -> None:
        if subtype is not _Array:  # numpy names ndarray here; a subclass would bring its own code
            raise DataError("refusing to unpickle an ndarray subclass: only numpy arrays are allowed")
        self.state = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def build(self) -> np.ndarray:
        state = self.state
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]  # (version, shape, dtype, fortran, data)
        if not isinstance(state, tuple) or len(state) != 4:
            raise DataError("cannot read pickled arrays: malformed array state")
        shape, dtype, fortran, data = state
        if not isinstance(dtype, _DType):
            raise DataError("cannot read pickled arrays: an array without a dtype")
        if isinstance(data, list):
            raise DataError("refusing to unpickle an array of Python objects: only numeric arrays are allowed")
        return _from_bytes(data, dtype.build(), shape, "F" if fortran else "C")


def _from_bytes(data: Any, dtype: np.dtype, shape: Any, order: str) -> np.ndarray:
    if isinstance(data, str):
        data = data.encode("latin1")  # Python 2 pickles read with encoding="latin1"
    if isinstance(data, pickle.PickleBuffer):
        data = bytes(data.raw())
    if not isinstance(data, (bytes, bytearray)):
        raise DataError("cannot read pickled arrays: array data is not bytes")
    if isinstance(shape, int):
        shape = (shape,)
    if not isinstance(shape, tuple) or not all(isinstance(s, int) and s >= 0 for s in shape) or len(shape) > 32:
        raise DataError(f"cannot read pickled arrays: invalid shape {shape!r}")
    count = math.prod(shape)
    if len(data) != count * dtype.itemsize:
        raise DataError(f"cannot read pickled arrays: shape {shape} of {dtype} needs {count * dtype.itemsize} "
                        f"bytes, the pickle holds {len(data)}")
    return np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order=order).copy(order="K")


def _frombuffer(data: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    # pickle protocol 5 names numpy.core.numeric._frombuffer; its dtype has been fully built by now
    if not isinstance(dtype, _DType):
        raise DataError("cannot read pickled arrays: an array without a dtype")
    return _from_bytes(data, dtype.build(), shape, "F" if order == "F" else "C")


def _scalar(dtype: Any, data: Any = None) -> Any:
    # numpy scalars (np.float32(1.5)) pickle as multiarray.scalar(dtype, raw bytes)
    if not isinstance(dtype, _DType):
        raise DataError("cannot read pickled arrays: a scalar without a dtype")
    return _from_bytes(data, dtype.build(), (1,), "C")[0]


def _encode(text: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
    # Python 3 pickles of bytes at protocol <= 2 read as _codecs.encode(text, "latin1")
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1", "iso-8859-1"):
        raise DataError(f"refusing to unpickle _codecs.encode with {encoding!r}")
    return text.encode("latin1")


def _bytes(*args: Any) -> bytes:
    # protocols 0 and 1 write an empty bytes object as a call of bytes(); nothing else needs it
    if args and not (len(args) == 1 and isinstance(args[0], (bytes, bytearray))):
        raise DataError("refusing to unpickle bytes(...) with arguments")
    return bytes(args[0]) if args else b""


_ALLOWED: dict[tuple[str, str], Any] = {("numpy", "ndarray"): _Array, ("numpy", "dtype"): _DType,
                                        ("_codecs", "encode"): _encode, ("builtins", "bytes"): _bytes,
                                        ("__builtin__", "bytes"): _bytes}
for _core in ("numpy.core", "numpy._core"):
    _ALLOWED[(f"{_core}.multiarray", "_reconstruct")] = _Array
    _ALLOWED[(f"{_core}.multiarray", "scalar")] = _scalar
    _ALLOWED[(f"{_core}.numeric", "_frombuffer")] = _frombuffer


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles containers of numeric numpy arrays and plain Python values; refuses every other global.

    :meth:`load` returns stand-ins for arrays; use the module's :func:`load`, which replaces them by real arrays.
    """

    def find_class(self, module: str, name: str) -> Any:
        allowed = _ALLOWED.get((module, name))
        if allowed is None:
            raise DataError(f"refusing to unpickle {module}.{name}: only numpy arrays are allowed in data files")
        return allowed

    def persistent_load(self, pid: Any) -> Any:
        raise DataError("refusing to unpickle a persistent reference: only numpy arrays are allowed in data files")


def _materialise(obj: Any, memo: dict[int, Any]) -> Any:
    """``obj`` with every array stand-in replaced by its array (shared and cyclic references kept)."""
    key = id(obj)
    if key in memo:
        return memo[key]
    if isinstance(obj, (_Array, _DType)):
        memo[key] = out = obj.build()
    elif isinstance(obj, list):
        memo[key] = out = []
        out.extend(_materialise(x, memo) for x in obj)
    elif isinstance(obj, dict):
        memo[key] = out = {}
        for k, v in obj.items():
            out[_materialise(k, memo)] = _materialise(v, memo)
    elif isinstance(obj, (tuple, set, frozenset)):
        out = type(obj)(_materialise(x, memo) for x in obj)
        memo[key] = out
    else:
        out = obj
    return out


def load(fh: IO[bytes], encoding: str = "latin1") -> Any:
    """Unpickle numpy arrays (and tuples, lists, dicts, numbers, strings) from ``fh``, nothing else.

    Every failure, whether a refused global or a damaged stream, is one :class:`DataError`.
    """
    try:
        return _materialise(NumpyOnlyUnpickler(fh, encoding=encoding).load(), {})
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - damaged data surfaces as any of a dozen types (zlib, EOF, numpy ...)
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"cannot read pickled arrays: {reason}") from exc


def loads(data: bytes, encoding: str = "latin1") -> Any:
    """:func:`load` from bytes."""
    return load(io.BytesIO(data), encoding)
