"""How MNIST's 28x28 digits become 32x32 images, measured: ``ganzoo bench`` of a variant on ``mnist-pad``, MNIST
zero-padded by 2 pixels a side (LeNet's convention: every pixel as MNIST stores it), to compare with the same
variant and seed on the built-in ``mnist`` (resized 28 -> 32, bilinear and antialiased: every stroke resampled).

    OMP_NUM_THREADS=1 python benchmarks/data_path.py dcgan --seed 0 --out bench-runs/pad/dcgan-s0

The padded dataset is registered in this process only, through the same hook a plugin package uses, so ganzoo's
default stays as it is. Scores are against the padded test split, so its own floor (real train vs test) comes with
them. No dataset-specific extractor applies to ``mnist-pad``, so the bench scores with Inception only and the run
tracks no FID while it trains.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types

import torch.nn.functional as F

import ganzoo
from ganzoo.bench import BenchConfig, run_bench
from ganzoo.data.base import ArrayData, DataRequest
from ganzoo.data.vision import load_mnist
from ganzoo.plugins import Plugins
from ganzoo.registry import Registry

MNIST_SIZE = 28


def load_mnist_padded(request: DataRequest) -> ArrayData:
    """MNIST at its native 28x28, zero-padded (centred) to ``request.image_size``."""
    margin = request.image_size - MNIST_SIZE
    if margin < 0:
        raise ganzoo.ConfigError(f"mnist-pad pads 28x28 digits; it cannot make {request.image_size}x"
                                 f"{request.image_size} images")
    native = load_mnist(dataclasses.replace(request, image_size=MNIST_SIZE))
    before = margin // 2
    data = F.pad(native.data, (before, margin - before, before, margin - before)).contiguous()
    return ArrayData(data, native.labels, "image", native.num_classes, native.class_names,
                     preprocessing=f"28x28 zero-padded to {request.image_size}x{request.image_size}")


def _register_datasets(register) -> None:
    register(ganzoo.DatasetSpec("mnist-pad", "MNIST zero-padded to the image size (benchmarks/data_path.py)",
                                load_mnist_padded, num_classes=10, class_names=tuple("0123456789")))


def registry_with_padded_mnist() -> Registry:
    """Every installed plugin plus ``mnist-pad``."""
    plugins = Plugins()
    plugins.load_entry_points()
    plugin = types.SimpleNamespace(ganzoo_register_datasets=ganzoo.hookimpl(_register_datasets))
    plugins.add(plugin, "data-path-benchmark")
    return plugins.build_registry()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the variant's)")
    parser.add_argument("--num-samples", type=int, default=None, help="N (default: the bench's)")
    parser.add_argument("--out", required=True, help="bench output folder")
    args = parser.parse_args(argv)
    try:
        result = run_bench(BenchConfig(variant=args.variant, dataset="mnist-pad", seed=args.seed, steps=args.steps,
                                       num_samples=args.num_samples, out=args.out),
                           registry=registry_with_padded_mnist())
    except ganzoo.GanzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
