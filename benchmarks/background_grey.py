"""How much of an image run's Inception FID is faint background grey: the generated images that ``ganzoo bench``
scores, as they are and with every pixel at or below grey level K (of 255) set to black, each against the same
held-out test images. A diagnostic for a reader of the scores, not a way to score: the digits do not change to the
eye, so a large drop says that Inception weighs background the eye does not see.

    python benchmarks/background_grey.py bench-runs/epyc/dcgan-s0 --levels 2 4 8

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
from ganzoo.bench import _generate  # the bench's own sampling, so the K = none row matches its score
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench", type=Path, help="a ganzoo bench output folder (holds metrics.json)")
    parser.add_argument("--levels", type=int, nargs="+", default=[2, 4, 8], help="grey levels K to black out")
    args = parser.parse_args()

    if not (args.bench / "metrics.json").is_file():
        sys.exit(f"{args.bench} holds no metrics.json: give a finished `ganzoo bench` output folder")
    metrics = json.loads((args.bench / "metrics.json").read_text())
    if "inception" not in metrics.get("scores", {}):
        sys.exit(f"{args.bench} was not scored with Inception (image data only)")
    n, sample_seed = metrics["num_samples"], metrics["sample_seed"]
    registry = get_registry()
    run = ganzoo.load(metrics["run"], registry=registry)
    cfg = run.config
    fake = _generate(run.sampler, n, sample_seed, torch.device("cpu"))
    channels = fake.shape[1]
    extractor = registry.extractor("inception").build(device="cpu")
    test = reference_features(registry, cfg.dataset, "test", "inception", n, cfg.image_size, channels,
                              cfg.data_dir, extractor=extractor)
    real = load_dataset(registry, cfg.dataset, split="test", seed=cfg.seed).data
    real = real[torch.from_numpy(reference_order(len(real), n))]  # the same images the FID reference holds

    print(f"{run.spec.name}, step {run.step}, N = {n} against the test split, sample seed {sample_seed}")
    print("| images | " + " | ".join(f"grey {k}" for k in low_grey_shares(fake)) + " |")
    print("|---|" + "---:|" * 5)
    for name, images in (("real test", real), ("generated", fake)):
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in low_grey_shares(images).values()) + " |")
    print()
    print("| generated images | Inception FID | precision / recall | reported by the bench |")
    print("|---|---:|---:|---:|")
    for level in [None, *args.levels]:
        images = fake if level is None else torch.where(fake <= level, torch.zeros_like(fake), fake)
        feats = extract(extractor, images.split(100), device="cpu")
        result = score(test, feats, seed=metrics["seed"])
        reported = f"{metrics['scores']['inception']['final']['fid']:.2f}" if level is None else ""
        what = "as generated" if level is None else f"grey <= {level} set to 0"
        fid, pr = result["fid"], (result["precision"], result["recall"])
        print(f"| {what} | {fid if fid is None else round(fid, 2)} | {pr[0]:.2f} / {pr[1]:.2f} | {reported} |",
              flush=True)


if __name__ == "__main__":
    main()
