"""Choosing the device to train on, and the precision to train in."""

from __future__ import annotations

import torch

from ganzoo.errors import DeviceError


def select_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; an explicit device that is missing raises :class:`DeviceError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as exc:
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} was asked for but CUDA is not available here; use --device cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} does not exist; this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceError("device 'mps' was asked for but Apple MPS is not available here; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"unsupported device {name!r}; use auto, cpu, cuda, cuda:N or mps")
    return device


def has_native_bf16() -> bool:
    """Whether this CPU computes in bf16 natively: AMX tiles (Intel Sapphire Rapids and later) or AVX512-BF16
    (Intel Cooper Lake, AMD Zen 4 and later), where oneDNN runs bf16 convolutions and matrix products faster than
    fp32. Without either, bf16 is emulated and slower."""
    probes = [getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported")]
    try:  # private in torch 2.x: an absent probe means "don't know", taken as no
        return any(bool(probe()) for probe in probes if probe is not None)
    except RuntimeError:
        return False


def resolve_amp(amp: str, device: torch.device, data_kind: str) -> str:
    """The autocast mode ``--amp auto`` stands for: bf16 for image data on a CPU with native bf16 (dcgan steps
    1.7x faster with AMX and with AVX512-BF16, FID per step unchanged: docs/benchmarks.md, "Training precision"),
    else off. Point data stays fp32:
    its small MLPs gain nothing and bf16's 8-bit mantissa is coarse at the scale of the toy modes. CUDA stays
    fp32 until bf16 there is measured; ask for it with ``--amp bf16``. Explicit modes pass through."""
    if amp != "auto":
        return amp
    return "bf16" if device.type == "cpu" and data_kind == "image" and has_native_bf16() else "off"
