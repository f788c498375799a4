"""Shape conversions applied once when a split is loaded: resizing and channel conversion of uint8 images."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganzoo.errors import DataError


def resize_uint8(images: torch.Tensor, size: int, chunk: int = 4096) -> torch.Tensor:
    """Resize uint8 ``(N, C, H, W)`` images to ``size x size`` (bilinear, antialiased), rounding back to uint8."""
    if images.shape[-2:] == (size, size):
        return images
    out = torch.empty((images.shape[0], images.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, images.shape[0], chunk):
        x = images[start:start + chunk].float()
        y = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[start:start + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


def convert_channels(images: torch.Tensor, channels: int | None) -> torch.Tensor:
    """1 -> 3 repeats the gray channel; 3 -> 1 takes ITU-R 601 luma (as PIL's ``convert('L')``)."""
    have = images.shape[1]
    if channels is None or channels == have:
        return images
    if have == 1 and channels == 3:
        return images.expand(-1, 3, -1, -1).contiguous()
    if have == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        return (images.float() * weights).sum(1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    raise DataError(f"cannot convert {have}-channel images to {channels} channels")


def prepare_images(images: torch.Tensor, image_size: int, channels: int | None) -> torch.Tensor:
    """uint8 (N, C, H, W) -> the requested channels and size."""
    return resize_uint8(convert_channels(images, channels), image_size)
