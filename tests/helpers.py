"""Helpers shared by tests (importable as ``helpers`` because pytest puts tests/ on sys.path)."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image


def make_image_folder(folder: Path, n: int = 40, size: int = 28, channels: int = 1, seed: int = 0) -> Path:
    """``n`` random-blob PNGs of ``size`` px: enough structure for a few training steps."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[:size, :size]
    for i in range(n):
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 6) ** 2))
        pixels = (255 * blob).astype(np.uint8)
        if channels == 3:
            pixels = np.stack([pixels, pixels[::-1], pixels[:, ::-1]], axis=-1)
        Image.fromarray(pixels).save(folder / f"img_{i:04d}.png")
    return folder


def registry_with(*modules: ModuleType):
    """A fresh registry: every installed plugin plus ``modules`` registered as extra plugins."""
    from ganzoo.plugins import Plugins

    plugins = Plugins()
    plugins.load_entry_points()
    for module in modules:
        plugins.add(module, module.__name__)
    return plugins.build_registry()


def make_distribution(site: Path, name: str, version: str, entry_points: dict[str, str],
                      modules: dict[str, str]) -> Path:
    """A minimal installed distribution in ``site`` (put it on PYTHONPATH): modules plus a ``*.dist-info``
    whose ``entry_points.txt`` registers ``entry_points`` in the ``ganzoo`` group. No pip needed."""
    site.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (site / f"{module}.py").write_text(source)
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[ganzoo]\n{lines}")
    return site


def pixel_stats_plugin(datasets: tuple[str, ...] = (), name: str = "pixel-stats") -> ModuleType:
    """A plugin registering ``name`` (``pixel-stats``): a cheap extractor (8 fixed random projections of the pixels as
    features, the first 3 as 'class logits'), declared for ``datasets`` (so FID tracking picks it there)."""
    import torch

    import ganzoo
    from ganzoo.metrics import FeatureExtractor, Features

    class PixelStats(FeatureExtractor):
        feature_dim = 8
        num_classes = 3

        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.randn(28 * 28, 8, generator=torch.Generator().manual_seed(0))

        def forward(self, images: torch.Tensor) -> Features:
            x = torch.nn.functional.interpolate(images.float().mean(1, keepdim=True) / 255, size=(28, 28))
            feats = x.flatten(1) @ self.proj
            return Features(feats, feats[:, :3])

    module = ModuleType(f"{name}_plugin")

    @ganzoo.hookimpl
    def ganzoo_register_extractors(register):
        register(ganzoo.ExtractorSpec(name, "test projection", lambda device="cpu": PixelStats(), 8, 3,
                                      datasets=datasets))

    module.ganzoo_register_extractors = ganzoo_register_extractors
    return module


def labelled_blobs_plugin(num_classes: int = 3, size: int = 32) -> ModuleType:
    """A plugin registering ``blobs``: 28 x 28 (or ``size``) gray images of one blob each, its position set by
    the class (``num_classes`` classes), 96 train / 48 test images, for conditional tests."""
    import torch

    import ganzoo
    from ganzoo.data import ArrayData

    def load(request) -> ArrayData:
        n = 96 if request.split == "train" else 48
        rng = np.random.default_rng(0 if request.split == "train" else 1)
        s = request.image_size
        yy, xx = np.mgrid[:s, :s]
        labels = np.arange(n) % num_classes
        images = np.empty((n, 1, s, s), dtype=np.uint8)
        for i, label in enumerate(labels):
            cx = s * (0.2 + 0.6 * label / max(1, num_classes - 1)) + rng.normal(0, 1)
            cy = s * 0.5 + rng.normal(0, 1)
            images[i, 0] = (255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (s / 8) ** 2))).astype(np.uint8)
        data = torch.from_numpy(images)
        if request.channels == 3:
            data = data.repeat(1, 3, 1, 1)
        return ArrayData(data, torch.from_numpy(labels).long(), "image", num_classes)

    module = ModuleType("labelled_blobs_plugin")

    @ganzoo.hookimpl
    def ganzoo_register_datasets(register):
        register(ganzoo.DatasetSpec("blobs", "labelled test blobs", load, num_classes=num_classes,
                                    class_names=tuple(f"blob{i}" for i in range(num_classes))))

    module.ganzoo_register_datasets = ganzoo_register_datasets
    return module
