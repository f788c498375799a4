"""Turn a finished ``ganzoo bench VARIANT --seed S`` output into shipped weights: ``plugins/weights/VARIANT-WEIGHTS/``.

The folder is in the Hugging Face Hub layout (:mod:`ganzoo.pretrained`): ``model.safetensors`` (the EMA generator,
stored as G, and D, as float16; the raw G is left out, see docs/pretrained.md, "Size"), ``config.json``,
``README.md``, ``samples.png`` (the card's grid, made from the stored weights) and ``card.json``: the equivalent
``ganzoo train`` command and seed, ganzoo version and commit, machine, steps, training seconds, the bench's scores
at N with their floors, a float16 check and the sha256 of every file.

The float16 check scores the EMA generator in float32 and rounded to float16 with the cheap dataset-specific
extractor at the bench's N (against the test split); ``--seed-spread`` (the sd of that score over seeds, from a
``--seeds`` bench) is recorded beside it, and the script refuses float16 when the difference exceeds it. Without a
measured spread, float16 must move the FID by less than 0.1% of its value.

    python benchmarks/make_pretrained.py bench-runs/dcgan-s0 --seed-spread 1.9
    python benchmarks/make_pretrained.py bench-runs/zoo/sngan                     # no seed spread measured
    python benchmarks/make_pretrained.py bench-runs/dcgan-s0 --dtype float32   # when float16 moves the score
    python benchmarks/make_pretrained.py bench-runs/zoo/lsgan --replace         # new defaults: rewrite shipped weights
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path

import common
import torch

import ganzoo
from ganzoo.bench_sampling import balanced_labels, draw_samples, image_batches
from ganzoo.engine.config import TrainConfig, resolve
from ganzoo.engine.tracking import default_extractor
from ganzoo.metrics.pipeline import extract, score
from ganzoo.metrics.reference import reference_features
from ganzoo.plugins import get_registry
from ganzoo.pretrained import card_grid, write_model

WEIGHTS_DIR = common.ROOT / "plugins" / "weights"
NETWORKS = "G: the EMA generator (batch-norm statistics re-estimated), D: the discriminator; the raw G is not shipped"
RELATIVE_TOLERANCE = 0.001  # float16's allowed move of the FID when no seed spread is known
SCORE_KEYS = ("fid", "kid_mean", "kid_std", "precision", "recall", "modes_covered", "is_mean")


def _commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=common.ROOT, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "HEAD") + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def cheap_fid(run: ganzoo.LoadedRun, generator: torch.nn.Module, n: int, extractor_name: str) -> float:
    """FID of ``generator``'s n samples (the bench's noise) against the test split with ``extractor_name``."""
    registry = get_registry()
    extractor = registry.extractor(extractor_name).build(device="cpu")
    cfg = run.config
    ref = reference_features(registry, cfg.dataset, "test", extractor_name, n, cfg.image_size,
                             generator.data_shape[0], cfg.data_dir, "cpu", extractor=extractor)
    fake = draw_samples(generator, n, 1, torch.device("cpu"), labels=balanced_labels(n, run.num_classes))
    return float(score(ref, extract(extractor, image_batches(fake)), num_classes=0, seed=0)["fid"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench_dir", type=Path, help="a finished `ganzoo bench` output (metrics.json, run/)")
    parser.add_argument("--weights", default="mnist", help="the weights' name (pretrained:VARIANT/WEIGHTS)")
    parser.add_argument("--dtype", default="float16", choices=["float16", "float32"])
    parser.add_argument("--seed-spread", type=float,
                        help="sd over seeds of the cheap extractor's FID (from a --seeds bench); without it, float16 "
                             f"must move that FID by less than {RELATIVE_TOLERANCE * 100:.1f}%% of its value")
    parser.add_argument("--out", type=Path, help=f"default: {WEIGHTS_DIR}/VARIANT-WEIGHTS")
    parser.add_argument("--replace", action="store_true",
                        help="rewrite OUT if it already holds weights (when a variant's defaults changed)")
    parser.add_argument("--commit", help="the commit whose code trained the run (default: HEAD, marked -dirty when "
                                         "the tree has changes)")
    args = parser.parse_args()

    metrics = json.loads((args.bench_dir / "metrics.json").read_text())
    run_dir = args.bench_dir / "run"
    run = ganzoo.load(run_dir)
    variant, seed = metrics["variant"], metrics["train"]["config"]["seed"]
    trained = dataclasses.replace(resolve(run.config, get_registry()), channels=None)  # config.json records it
    # the precision is named in the command: --amp auto picks it by machine, and the card must not depend on that
    command = f"ganzoo train {variant} --seed {seed} --amp {trained.amp}"
    if resolve(TrainConfig(variant, seed=seed, amp=trained.amp), get_registry()) != trained:
        sys.exit(f"{args.bench_dir} did not train at {variant}'s defaults (it used other options): the card's "
                 f"command `{command}` would not reproduce it")
    out = args.out or WEIGHTS_DIR / f"{variant}-{args.weights}"
    if out.exists() and any(out.iterdir()) and not args.replace:
        sys.exit(f"{out} already holds weights: pass --replace to rewrite it")
    dtype = getattr(torch, args.dtype)

    scores = {}
    for name, block in metrics["scores"].items():
        scores[name] = {k: block["final"][k] for k in SCORE_KEYS if block["final"].get(k) is not None}
        scores[name]["floor"] = {k: block["floor"][k] for k in SCORE_KEYS if block["floor"].get(k) is not None}
    headline = {f"{name} FID": round(block["fid"], 2) for name, block in scores.items() if "fid" in block}

    n = metrics["num_samples"]
    cheap = default_extractor(get_registry(), run.config.dataset)
    check = None
    if cheap is not None:
        rounded = ganzoo.load(run_dir).sampler
        with torch.no_grad():
            for p in rounded.parameters():
                p.copy_(p.to(dtype).float())
            for b in rounded.buffers():
                if b.is_floating_point():
                    b.copy_(b.to(dtype).float())
        check = {"extractor": cheap, "num_samples": n, "fid_float32": cheap_fid(run, run.sampler, n, cheap),
                 f"fid_{args.dtype}": cheap_fid(run, rounded, n, cheap), "seed_spread": args.seed_spread}
        moved = abs(check[f"fid_{args.dtype}"] - check["fid_float32"])
        print(f"{cheap} FID: float32 {check['fid_float32']:.3f}, {args.dtype} {check[f'fid_{args.dtype}']:.3f}")
        if args.seed_spread is None:
            check["tolerance"] = f"{RELATIVE_TOLERANCE:.1%} of the float32 FID (no seed spread measured)"
        limit = args.seed_spread if args.seed_spread is not None else RELATIVE_TOLERANCE * check["fid_float32"]
        if args.dtype != "float32" and moved > limit:
            sys.exit(f"{args.dtype} moves the {cheap} FID by {moved:.3f}, more than {limit:.3f} "
                     f"({'the seed spread' if args.seed_spread is not None else 'the tolerance'}): use --dtype float32")

    card = {
        "variant": variant, "weights": args.weights, "dataset": run.config.dataset, "seed": seed,
        "command": command, "bench_command": f"ganzoo bench {variant} --seed {seed}",
        "steps": run.step, "train_seconds": metrics["train"]["train_s"], "ganzoo_version": ganzoo.__version__,
        "commit": args.commit or _commit(),
        "machine": metrics["machine"],
        "date": datetime.date.today().isoformat(), "num_samples": n, "reference": "test split",
        "scores": scores, "headline": headline, "dtype": args.dtype, "float16_check": check, "grid_seed": 0,
        "load": f"pretrained:{variant}/{args.weights}", "networks": NETWORKS,
    }
    staging = out.with_name(out.name + ".staging")
    write_model(run, staging, dtype, card=None, sampler_only=True)
    written = ganzoo.load(staging)  # the grid comes from the stored (rounded) weights, as a user loads them
    grid = staging.parent / f".{out.name}-grid.png"
    grid.write_bytes(card_grid(written, card))
    shutil.rmtree(staging)
    fresh = out.with_name(out.name + ".new")  # the old folder stays whole until the new one is complete
    try:
        write_model(run, fresh, dtype, card=card, samples=grid, sampler_only=True)
    finally:
        grid.unlink()
    if out.exists():
        old = out.with_name(out.name + ".old")
        out.rename(old)
        fresh.rename(out)
        shutil.rmtree(old)
    else:
        fresh.rename(out)
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"wrote {out} ({size / 2**20:.2f} MiB): {headline}")


if __name__ == "__main__":
    main()
