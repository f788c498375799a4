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


def resized_shape(height: int, width: int, size: int) -> tuple[int, int]:
    """(H', W') with the shorter side ``size`` and the aspect ratio kept: torchvision's ``Resize(size)`` rule (the
    longer side truncated, ``int(size * long / short)``)."""
    if width <= height:
        return int(size * height / width), size
    return size, int(size * width / height)


def resize_center_crop(images: torch.Tensor, size: int, chunk: int = 1024) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` images of one size -> ``(N, C, size, size)``: the shorter side resized to ``size``
    (bilinear, antialiased), then the centre ``size x size`` cut out, as torchvision's ``Resize(size)`` followed by
    ``CenterCrop(size)``. Square images are only resized, as :func:`resize_uint8` does."""
    height, width = images.shape[-2:]
    new_h, new_w = resized_shape(height, width, size)
    if (new_h, new_w) == (height, width):
        resized = images
    else:
        resized = torch.empty((images.shape[0], images.shape[1], new_h, new_w), dtype=torch.uint8)
        for start in range(0, images.shape[0], chunk):
            x = images[start:start + chunk].float()
            y = F.interpolate(x, size=(new_h, new_w), mode="bilinear", antialias=True, align_corners=False)
            resized[start:start + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
    top, left = int(round((new_h - size) / 2.0)), int(round((new_w - size) / 2.0))
    return resized[..., top:top + size, left:left + size].contiguous()
