"""Scoring in full float32: no TensorFloat-32 in cuDNN convolutions or CUDA matrix products while it runs.

PyTorch lets cuDNN convolutions use TF32 (a 10-bit mantissa) on Ampere and later GPUs by default, and a training
script often allows it for matrix products too (``torch.set_float32_matmul_precision("high")``). Features computed
that way differ from float32 ones: on an H200, Inception's pool features moved by up to 7e-4 of their size
(``benchmarks/gpu_check.py``, docs/benchmarks.md "GPU figures"). Scores are promised in float32 on every device, so
feature extraction and the feature-space metrics run inside :func:`full_float32`, which restores the caller's
settings afterwards. CPU arithmetic is not affected.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch


def _precision_settings() -> list[tuple[Any, str, str]]:
    """(holder, attribute, value inside) of every flag to set: PyTorch's per-backend ``fp32_precision`` where it
    has them, else the older ``allow_tf32`` flags. The two APIs must not be mixed, so only one set is touched."""
    cudnn_conv = getattr(torch.backends.cudnn, "conv", None)
    matmul = torch.backends.cuda.matmul
    if cudnn_conv is not None and hasattr(cudnn_conv, "fp32_precision") and hasattr(matmul, "fp32_precision"):
        return [(cudnn_conv, "fp32_precision", "ieee"), (matmul, "fp32_precision", "ieee")]
    return [(torch.backends.cudnn, "allow_tf32", False), (matmul, "allow_tf32", False)]


@contextlib.contextmanager
def full_float32() -> Iterator[None]:
    """Inside: cuDNN convolutions and CUDA matrix products in IEEE float32. The previous settings come back on
    exit, also after an exception."""
    settings = _precision_settings()
    saved = [(holder, name, getattr(holder, name)) for holder, name, _ in settings]
    try:
        for holder, name, value in settings:
            setattr(holder, name, value)
        yield
    finally:
        for holder, name, value in reversed(saved):
            setattr(holder, name, value)
