"""How much of an image run's Inception FID is pixel intensity rather than shape: the generated images that
``ganzoo bench`` scores, as they are and with every pixel at or below grey level K (of 255) set to black, each
against the same held-out test images. A diagnostic for a reader of the scores, not a way to score: the digits do
not change to the eye, so a large drop says that Inception weighs background the eye does not see.

    python benchmarks/background_grey.py bench-runs/epyc/dcgan-s0 --levels 2 4 8 --match-histogram --blur 0.5

``--match-histogram`` adds a row where the generated pixels are remapped, by rank, onto the grey levels of 2100
training images (a monotone map: every digit keeps its shape, only the intensities move). ``--blur S`` adds rows
with a Gaussian blur of S pixels applied to the generated images, and to training images scored the same way, to
show how much sharpness weighs.

BENCH is a ``ganzoo bench`` output folder (its ``metrics.json`` names the run, seed and N, so the first row
reproduces the bench's own Inception FID exactly). It also prints, for real test images and generated ones, the
share of pixels at each low grey level.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

import ganzoo
from ganzoo.bench_sampling import draw_samples  # the bench's own sampling, so the K = none row matches its score
from ganzoo.data import load_dataset
from ganzoo.metrics.pipeline import extract, score
from ganzoo.metrics.reference import reference_features, reference_order
from ganzoo.plugins import get_registry


def low_grey_shares(images: torch.Tensor) -> dict[str, float]:
    """Share of pixels at grey 0, 1-2, 3-4, 5-8 and above 8 (uint8 images)."""
    x = images.flatten()
    bins = {"0": x == 0, "1-2": (x >= 1) & (x <= 2), "3-4": (x >= 3) & (x <= 4), "5-8": (x >= 5) & (x <= 8),
            ">8": x > 8}
    return {name: float(mask.float().mean()) for name, mask in bins.items()}


def match_histogram(images: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``images`` (uint8) with their pixels, ranked, replaced by the same quantiles of ``reference``'s pixels."""
    flat, ranked = images.flatten().float(), reference.flatten().float().sort().values
    positions = torch.linspace(0, len(ranked) - 1, len(flat)).round().long()
    out = torch.empty_like(flat)
    out[flat.argsort(stable=True)] = ranked[positions]
    return out.view_as(images).round().to(torch.uint8)


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """uint8 images blurred by a 5-tap separable Gaussian of ``sigma`` pixels (edges replicated), rounded back."""
    taps = torch.arange(-2, 3, dtype=torch.float32)
    kernel = torch.exp(-taps**2 / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).to(torch.float32)
    x = images.float().flatten(0, 1).unsqueeze(1)  # (B*C, 1, H, W)
    x = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (2, 2, 0, 0), mode="replicate"), kernel.view(1, 1, 1, 5))
    x = torch.nn.functional.conv2d(torch.nn.functional.pad(x, (0, 0, 2, 2), mode="replicate"), kernel.view(1, 1, 5, 1))
    return x.view_as(images).round().clamp(0, 255).to(torch.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", type=Path, help="a ganzoo bench output folder (holds metrics.json)")
    parser.add_argument("--levels", type=int, nargs="*", default=[2, 4, 8], help="grey levels K to black out")
    parser.add_argument("--match-histogram", action="store_true",
                        help="also score the generated images remapped onto the training images' grey levels")
    parser.add_argument("--blur", type=float, nargs="*", default=[], metavar="SIGMA",
                        help="also score generated and training images blurred by a Gaussian of SIGMA pixels")
    args = parser.parse_args()
    if any(sigma <= 0 for sigma in args.blur):
        sys.exit("--blur takes a positive Gaussian sigma in pixels, e.g. --blur 0.5")

    if not (args.bench / "metrics.json").is_file():
        sys.exit(f"{args.bench} holds no metrics.json: give a finished `ganzoo bench` output folder")
    metrics = json.loads((args.bench / "metrics.json").read_text())
    if "inception" not in metrics.get("scores", {}):
        sys.exit(f"{args.bench} was not scored with Inception (image data only)")
    n, sample_seed = metrics["num_samples"], metrics["sample_seed"]
    registry = get_registry()
    run = ganzoo.load(metrics["run"], registry=registry)
    cfg = run.config
    fake = draw_samples(run.sampler, n, sample_seed, torch.device("cpu"))
    channels = fake.shape[1]
    extractor = registry.extractor("inception").build(device="cpu")
    test = reference_features(registry, cfg.dataset, "test", "inception", n, cfg.image_size, channels,
                              cfg.data_dir, extractor=extractor)
    real = load_dataset(registry, cfg.dataset, split="test", seed=cfg.seed).data
    real = real[torch.from_numpy(reference_order(len(real), n))]  # the same images the FID reference holds

    train = load_dataset(registry, cfg.dataset, split="train", seed=cfg.seed).data
    train = train[torch.randperm(len(train), generator=torch.Generator().manual_seed(sample_seed))[:n]]
    rows: list[tuple[str, torch.Tensor]] = [("as generated", fake)]
    rows += [(f"grey <= {k} set to 0", torch.where(fake <= k, torch.zeros_like(fake), fake)) for k in args.levels]
    if args.match_histogram:
        rows.append(("grey levels matched to training images", match_histogram(fake, train)))
    if args.blur:
        rows.append(("for scale: training images as they are", train))
    for sigma in args.blur:
        rows += [(f"blurred, sigma {sigma:g} px", gaussian_blur(fake, sigma)),
                 (f"for scale: training images blurred, sigma {sigma:g} px", gaussian_blur(train, sigma))]

    print(f"{run.spec.name}, step {run.step}, N = {n} against the test split, sample seed {sample_seed}")
    print("| images | " + " | ".join(f"grey {k}" for k in low_grey_shares(fake)) + " |")
    print("|---|" + "---:|" * 5)
    for name, images in (("real test", real), ("generated", fake)):
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in low_grey_shares(images).values()) + " |")
    print()
    print("| images scored | Inception FID | precision / recall | reported by the bench |")
    print("|---|---:|---:|---:|")
    for what, images in rows:
        feats = extract(extractor, images.split(100), device="cpu")
        result = score(test, feats, seed=metrics["seed"])
        reported = f"{metrics['scores']['inception']['final']['fid']:.2f}" if images is fake else ""
        fid, pr = result["fid"], (result["precision"], result["recall"])
        print(f"| {what} | {fid if fid is None else round(fid, 2)} | {pr[0]:.2f} / {pr[1]:.2f} | {reported} |",
              flush=True)

if __name__ == "__main__":
    main()
