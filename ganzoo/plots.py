"""Pictures a run produces: sample grids, point scatter plots and loss curves (matplotlib, headless)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from ganzoo.data.base import to_uint8_images
from ganzoo.engine.checkpoint import atomic_write


def image_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> torch.Tensor:
    """uint8 (C, H', W') grid of images in [-1, 1] shaped (N, C, H, W), ``nrow`` per row (default: square)."""
    pixels = to_uint8_images(images)
    n, c, h, w = pixels.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    grid = torch.zeros(c, rows * (h + padding) + padding, nrow * (w + padding) + padding, dtype=torch.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[:, top:top + h, left:left + w] = pixels[i]
    return grid


def _picture(pixels: torch.Tensor) -> Image.Image:
    """uint8 (C, H, W) pixels, C = 1 or 3, as a PIL image."""
    return Image.fromarray(pixels[0].numpy() if pixels.shape[0] == 1 else pixels.permute(1, 2, 0).numpy())


def save_grid(images: torch.Tensor, path: Path, nrow: int | None = None, padding: int = 2) -> Path:
    """Write a PNG grid of ``images`` (values in [-1, 1]) atomically, ``nrow`` per row."""
    picture = _picture(image_grid(images, nrow, padding))
    atomic_write(Path(path), lambda tmp: picture.save(tmp, format="PNG"))
    return Path(path)


def save_class_grid(images: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str], path: Path,
                    scale: int = 2) -> Path:
    """A PNG grid with one row per class (in order of first appearance in ``labels``), each row headed by its class
    name; images in [-1, 1]. Point samples fall back to a scatter plot."""
    from PIL import ImageDraw

    if images.dim() != 4:
        return save_scatter(images, path)
    classes = list(dict.fromkeys(int(c) for c in labels.tolist()))
    rows = [images[labels == c] for c in classes]
    ncol = max(len(r) for r in rows)
    grids = [image_grid(r, nrow=ncol) for r in rows]  # (C, h, w) each, one row
    c, h, w = grids[0].shape[0], grids[0].shape[1], max(g.shape[2] for g in grids)
    body = torch.zeros(c, h * len(rows), w, dtype=torch.uint8)
    for i, g in enumerate(grids):
        body[:, i * h:(i + 1) * h, :g.shape[2]] = g
    array = body[0].numpy() if c == 1 else body.permute(1, 2, 0).numpy()
    picture = Image.fromarray(array).convert("RGB")
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    names = [str(class_names[k]) if k < len(class_names) else str(k) for k in classes]
    margin = 8 + 7 * max(len(n) for n in names)
    canvas = Image.new("RGB", (picture.width + margin, picture.height), "white")
    canvas.paste(picture, (margin, 0))
    draw = ImageDraw.Draw(canvas)
    for i, name in enumerate(names):
        draw.text((4, i * h * scale + h * scale // 2 - 6), name, fill="black")
    atomic_write(Path(path), lambda tmp: canvas.save(tmp, format="PNG"))
    return Path(path)


def save_image(image: torch.Tensor, path: Path) -> Path:
    """Write one image ``(C, H, W)`` in [-1, 1] as a PNG of exactly its pixels (no border), atomically."""
    picture = _picture(to_uint8_images(image.unsqueeze(0))[0])
    atomic_write(Path(path), lambda tmp: picture.save(tmp, format="PNG"))
    return Path(path)


def save_gif(frames: torch.Tensor, path: Path, seconds_per_frame: float = 0.1) -> Path:
    """Write images ``(F, C, H, W)`` in [-1, 1] as a looping GIF, one frame each, atomically."""
    pictures = [_picture(p) for p in to_uint8_images(frames)]
    duration = max(20, round(seconds_per_frame * 1000))

    def write(tmp: str) -> None:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], duration=duration, loop=0)

    atomic_write(Path(path), write)
    return Path(path)


def render_samples(samples: torch.Tensor, kind: str = "image", nrow: int | None = None):
    """What :func:`save_samples` draws, as a uint8 RGB ``(H, W, 3)`` numpy array (for loggers that take
    pictures)."""
    import numpy as np

    if kind == "image":
        grid = image_grid(samples, nrow)
        return grid.expand(3, -1, -1).permute(1, 2, 0).contiguous().numpy()
    plt = _pyplot()
    fig = _scatter_figure(plt, samples, None, "")
    fig.canvas.draw()
    array = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return array


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_scatter(points: torch.Tensor, path: Path, reference: torch.Tensor | None = None,
                 title: str = "", limits: tuple[float, float] | None = None) -> Path:
    """Scatter plot of 2-D ``points`` over optional ``reference`` points (e.g. the true modes); ``limits`` fixes
    both axes to one range, so plots of different runs or steps can be compared."""
    plt = _pyplot()
    fig = _scatter_figure(plt, points, reference, title, limits)
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
    return Path(path)


def _scatter_figure(plt, points: torch.Tensor, reference: torch.Tensor | None, title: str,
                    limits: tuple[float, float] | None = None):
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    p = points.detach().float().cpu()
    ax.scatter(p[:, 0], p[:, 1], s=3, alpha=0.5, label="generated")
    if reference is not None:
        r = reference.detach().float().cpu()
        ax.scatter(r[:, 0], r[:, 1], s=40, marker="x", c="red", label="modes")
    if limits is not None:
        ax.set_xlim(*limits)
        ax.set_ylim(*limits)
    ax.set_aspect("equal")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    return fig


def save_samples(samples: torch.Tensor, path: Path, kind: str = "image", nrow: int | None = None) -> Path:
    """A grid for images (``nrow`` per row), a scatter plot for points."""
    return save_grid(samples, path, nrow) if kind == "image" else save_scatter(samples, path)


def plot_losses(records: Sequence[dict[str, Any]], path: Path, title: str = "") -> Path | None:
    """D and G loss per step (raw and smoothed) from metrics.jsonl records; ``title`` names the run."""
    records = [r for r in records if "d_loss" in r]
    if not records:
        return None
    plt = _pyplot()
    steps = [r["step"] for r in records]
    fig, ax = plt.subplots(figsize=(7, 3.5), dpi=100)
    window = max(1, len(records) // 50)
    for key, color in (("d_loss", "tab:blue"), ("g_loss", "tab:orange")):
        values = torch.tensor([float(r[key]) for r in records])
        ax.plot(steps, values, color=color, alpha=0.25, linewidth=0.8)
        if len(values) >= window > 1:
            smooth = torch.nn.functional.avg_pool1d(values.view(1, 1, -1), window, 1).flatten()
            ax.plot(steps[window - 1:], smooth, color=color, label=f"{key} (mean of {window})")
        else:
            ax.plot(steps, values, color=color, label=key)
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
    return Path(path)


def fid_records(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The FID-while-training records among metrics.jsonl records, in step order."""
    return sorted((r for r in records if isinstance(r.get("fid"), (int, float))), key=lambda r: r["step"])


def plot_fid(runs: dict[str, Sequence[dict[str, Any]]], path: Path, title: str = "") -> Path | None:
    """FID while training against generator steps and against training minutes, one line per run.

    ``runs`` maps a label to that run's metrics.jsonl records; runs without FID records are left out, and
    nothing is written when none has any.
    """
    curves = {label: fid_records(records) for label, records in runs.items()}
    curves = {label: rows for label, rows in curves.items() if rows}
    if not curves:
        return None
    plt = _pyplot()
    fig, (by_step, by_time) = plt.subplots(1, 2, figsize=(10, 3.8), dpi=100, sharey=True)
    extractors = sorted({r["extractor"] for rows in curves.values() for r in rows})
    for label, rows in curves.items():
        style = {"marker": "o", "markersize": 3, "linewidth": 1.4, "label": label}
        line, = by_step.plot([r["step"] for r in rows], [r["fid"] for r in rows], **style)
        by_time.plot([r["train_s"] / 60 for r in rows], [r["fid"] for r in rows], color=line.get_color(), **style)
    by_step.set_xlabel("generator step")
    by_time.set_xlabel("training minutes (steps only; evaluation excluded)")
    n = sorted({r["fid_n"] for rows in curves.values() for r in rows})
    by_step.set_ylabel(f"FID vs training split ({', '.join(extractors)}, N={', '.join(map(str, n))})")
    for ax in (by_step, by_time):
        ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
    if len(curves) > 1:
        by_time.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
    return Path(path)


def plot_confusion(confusion: Any, class_names: Sequence[str], path: Path, title: str = "") -> Path:
    """A confusion matrix (rows: requested class, columns: predicted class), each row as shares of its samples."""
    import numpy as np

    counts = np.asarray(confusion, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    plt = _pyplot()
    k = len(counts)
    fig, ax = plt.subplots(figsize=(1.2 + 0.45 * k, 1.0 + 0.45 * k), dpi=100)
    image = ax.imshow(shares, cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(k), [str(n) for n in class_names[:k]], rotation=90 if k > 10 else 0)
    ax.set_yticks(range(k), [str(n) for n in class_names[:k]])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("requested class")
    if k <= 12:
        for i in range(k):
            for j in range(k):
                if shares[i, j] >= 0.005:
                    ax.text(j, i, f"{shares[i, j]:.2f}", ha="center", va="center", fontsize=6,
                            color="black" if shares[i, j] > 0.5 else "white")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    if title:
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    atomic_write(Path(path), lambda tmp: fig.savefig(tmp, format="png"))
    plt.close(fig)
    return Path(path)
