"""Compact, JSON-safe encodings of what a lab layer computes: quantised little-endian arrays in base64.

Positions are int16 relative to the plane shown: ``POSITION_SCALE`` steps from its centre to its edge, so points up
to four plane-widths away keep their place and farther ones are pinned to that border; ``MISSING`` marks a
non-finite value. A heatmap is uint8 between the frame's lowest and highest value; an arrow's direction is int8
relative to the frame's longest arrow. ``lab.js`` decodes exactly these.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np
import torch

from ganzoo.errors import GanzooError

POSITION_SCALE = 8192
MISSING = -32768

Box = tuple[float, float, float, float]


class LayerError(GanzooError):
    """A lab layer computed something of the wrong shape for its kind."""


def _b64(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _positions(xy: np.ndarray, box: Box) -> np.ndarray:
    """``(..., 2)`` float positions -> int16, relative to the box centre."""
    x0, x1, y0, y1 = box
    centre = np.array([(x0 + x1) / 2, (y0 + y1) / 2])
    half = np.array([(x1 - x0) / 2, (y1 - y0) / 2])
    q = np.rint((xy - centre) / half * POSITION_SCALE)
    bad = ~np.isfinite(q).all(axis=-1, keepdims=True)
    q = np.clip(np.nan_to_num(q), -32767, 32767)
    return np.where(bad, MISSING, q).astype("<i2")


def _rounded(value: float) -> float | None:
    """A float for JSON: 5 significant digits, None when not finite."""
    return float(f"{value:.5g}") if math.isfinite(value) else None


def encode(kind: str, values: torch.Tensor, box: Box, grid_shape: tuple[int, int]) -> dict[str, Any]:
    """One layer's output for one frame, checked against its kind (see :class:`ganzoo.LabLayerSpec`)."""
    a = values.detach().to("cpu", torch.float64).numpy()
    if kind == "points":
        if a.ndim != 2 or a.shape[1] != 2:
            raise LayerError(f"a points layer returns (N, 2), got {tuple(a.shape)}")
        return {"q": _b64(_positions(a, box))}
    if kind == "mesh":
        if a.ndim != 3 or a.shape[2] != 2:
            raise LayerError(f"a mesh layer returns (R, C, 2), got {tuple(a.shape)}")
        return {"q": _b64(_positions(a, box)), "rows": int(a.shape[0]), "cols": int(a.shape[1])}
    if kind == "arrows":
        if a.ndim != 2 or a.shape[1] != 4:
            raise LayerError(f"an arrows layer returns (N, 4), got {tuple(a.shape)}")
        vectors = np.nan_to_num(a[:, 2:], nan=0.0, posinf=0.0, neginf=0.0)
        longest = float(np.linalg.norm(vectors, axis=1).max(initial=0.0))
        direction = np.rint(vectors / longest * 127) if longest > 0 else np.zeros_like(vectors)
        return {"q": _b64(_positions(a[:, :2], box)), "v": _b64(direction.astype("i1")), "longest": _rounded(longest)}
    if kind == "heatmap":
        if a.shape != (grid_shape[0] * grid_shape[1],):
            raise LayerError(f"a heatmap layer returns ({grid_shape[0]} * {grid_shape[1]},) values, one per grid "
                             f"point, got {tuple(a.shape)}")
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        scaled = (np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo) - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
        return {"q": _b64(np.rint(scaled * 255).astype("u1")), "lo": _rounded(lo), "hi": _rounded(hi)}
    raise LayerError(f"unknown lab layer kind {kind!r}")
