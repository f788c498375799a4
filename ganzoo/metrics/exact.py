"""Scoring in full float32: no TensorFloat-32 (or bf16) in convolutions and matrix products while it runs.

PyTorch lets cuDNN convolutions use TF32 (a 10-bit mantissa) on Ampere and later GPUs by default, and a training
script often allows reduced precision for matrix products too (``torch.set_float32_matmul_precision("high")``, or
"medium", which also gives oneDNN's CPU matmuls bf16). Features computed that way differ from float32 ones: on an
H200, Inception's pool features moved by up to 7e-4 of their size (``benchmarks/gpu_check.py``, docs/benchmarks.md
"GPU figures"). Scores are promised in float32 on every device, so feature extraction and the feature-space metrics
run inside :func:`full_float32`, which gives the caller's settings back afterwards.

Only settings that allow less than float32 are touched, and each is restored through the API it was read with:
PyTorch (2.9 and later) refuses to report its old cuDNN flag once the newer per-operator flags disagree, and a
default setting left alone stays inherited.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import torch


def _cudnn_allows_tf32() -> bool | None:
    """cuDNN's TF32 flag, or None when the per-operator flags (torch >= 2.9) were set apart and the old flag
    cannot be read."""
    try:
        return bool(torch.backends.cudnn.allow_tf32)
    except RuntimeError:
        return None


@contextlib.contextmanager
def full_float32() -> Iterator[None]:
    """Inside: matrix products at precision "highest" and cuDNN convolutions without TF32. What the caller had
    comes back on exit, also after an exception."""
    restore: list[Callable[[], None]] = []
    try:
        matmul = torch.get_float32_matmul_precision()
        if matmul != "highest":
            torch.set_float32_matmul_precision("highest")
            restore.append(lambda: torch.set_float32_matmul_precision(matmul))
        cudnn = _cudnn_allows_tf32()
        if cudnn:
            torch.backends.cudnn.allow_tf32 = False
            restore.append(lambda: setattr(torch.backends.cudnn, "allow_tf32", True))
        elif cudnn is None and torch.backends.cudnn.conv.fp32_precision != "ieee":
            conv = torch.backends.cudnn.conv.fp32_precision
            torch.backends.cudnn.conv.fp32_precision = "ieee"
            restore.append(lambda: setattr(torch.backends.cudnn.conv, "fp32_precision", conv))
        yield
    finally:
        for undo in reversed(restore):
            undo()
