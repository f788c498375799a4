"""Mode collapse on the 2-D mixtures: train every variant that supports point data on ring8 and grid25, then score.

    python benchmarks/mode_collapse.py                 # the recorded run: 2000 steps, seed 0, 2500 samples, 1 thread

Each variant trains with its own defaults except ``steps`` (a fixed budget of generator steps: 2000 took about a
minute of wall time per run, about 20 s of CPU, on the shared 2-core development machine), and also with every loss
given by ``--also VARIANT=LOSS`` (by default ``gan`` runs with its non-saturating loss and with the minimax one).
The final generator (its EMA copy when the variant keeps one) draws ``--samples`` points from noise seed
``seed + 1``, scored by the dataset's ``evaluate`` (:mod:`ganzoo.data.toy`: modes with >= 1 sample within 3 std,
the same with >= a tenth of a uniform share, the share of samples within 3 std of their nearest mode, and the KL of
the nearest-mode histogram to uniform). Real test points are scored the same way as the reference. An untimed 1-step
run first pays the one-time import costs. Prints a markdown table and writes ``benchmarks/results/mode_collapse.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch

import ganzoo
from ganzoo.data import load_dataset
from ganzoo.data.toy import GRID25, RING8
from ganzoo.plugins import get_registry
from ganzoo.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mode_collapse.json"
DATASETS = ("ring8", "grid25")
MIXTURES = {"ring8": RING8, "grid25": GRID25}  # for the scatter plots' mode markers


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000, help="generator steps per run (the fixed budget)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--samples", type=int, default=2500, help="generated points scored per run (VEEGAN/PacGAN: 2500)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--variants", nargs="*", default=None, help="default: every registered variant supporting points")
    p.add_argument("--datasets", nargs="*", default=list(DATASETS))
    p.add_argument("--also", action="append", default=None, metavar="VARIANT=LOSS",
                   help="also train VARIANT with LOSS (repeatable; default: gan=minimax)")
    p.add_argument("--work", type=Path, default=None, help="where runs and scatter plots go (default: a temp dir)")
    p.add_argument("--results", type=Path, default=RESULTS)
    return p.parse_args(argv)


def point_variants(registry: Registry) -> tuple[list[str], list[str]]:
    """(variants that train on point data, variants that do not)."""
    names = registry.names("variant")
    supported = [n for n in names if "points" in registry.variant(n).data_kinds]
    return supported, [n for n in names if n not in supported]


def plan(registry: Registry, variants: list[str], also: list[str]) -> list[tuple[str, str]]:
    """(variant, loss) pairs: each variant's own loss, then the extra losses asked for it."""
    extra: dict[str, list[str]] = {}
    for item in also:
        variant, sep, loss = item.partition("=")
        if not sep:
            raise SystemExit(f"--also takes VARIANT=LOSS, got {item!r}")
        registry.loss(loss)
        extra.setdefault(variant, []).append(loss)
    pairs = []
    for variant in variants:
        own = registry.variant(variant).loss
        pairs.append((variant, own))
        pairs += [(variant, loss) for loss in extra.get(variant, []) if loss != own]
    return pairs


def run_one(registry: Registry, variant: str, loss: str, dataset: str, args: argparse.Namespace,
            work: Path) -> dict:
    """Train, sample and score one (variant, loss, dataset)."""
    from ganzoo.plots import save_scatter

    out = work / f"{variant}-{loss}-{dataset}-s{args.seed}"
    started = time.perf_counter()
    ganzoo.train(variant, out, registry=registry, dataset=dataset, loss=loss, steps=args.steps, seed=args.seed,
                 device="cpu", sample_every=args.steps, checkpoint_every=args.steps)
    seconds = time.perf_counter() - started
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    run = ganzoo.load(out, registry=registry)
    samples = ganzoo.sample(run, args.samples, seed=args.seed + 1)
    spec = registry.dataset(dataset)
    scores = spec.evaluate(samples, args.seed)
    mixture = MIXTURES.get(dataset)
    save_scatter(samples, work / f"{out.name}.png", reference=mixture.means if mixture else None,
                 title=f"{variant} ({loss}) on {dataset}")
    return {"variant": variant, "loss": loss, "dataset": dataset, "steps": run.step, "seconds": round(seconds, 2),
            "train_loop_s": round(records[-1]["elapsed_s"], 2), "ema": bool(run.ema_generator is not None),
            **{k: _clean(v) for k, v in scores.items()}}


def _clean(value: float) -> float | None:
    return None if isinstance(value, float) and math.isnan(value) else value


def reference_scores(registry: Registry, dataset: str, args: argparse.Namespace) -> dict:
    """Scores of real test points: what a perfect generator would get on ``--samples`` points."""
    real = load_dataset(registry, dataset, split="test", seed=args.seed).data[: args.samples]
    return {k: _clean(v) for k, v in registry.dataset(dataset).evaluate(real, args.seed).items()}


def table(rows: list[dict], reference: dict[str, dict]) -> str:
    lines = ["| variant | loss | dataset | steps | seconds | modes covered | strict | high-quality share "
             "| KL to uniform |", "|---|---|---|---:|---:|---:|---:|---:|---:|"]

    def line(name: str, loss: str, dataset: str, steps: str, seconds: str, s: dict) -> str:
        kl = "n/a" if s["kl_uniform"] is None else f"{s['kl_uniform']:.3f}"
        return (f"| {name} | {loss} | {dataset} | {steps} | {seconds} | {s['modes_covered']:.0f} / "
                f"{s['num_modes']:.0f} | {s['modes_covered_strict']:.0f} | {s['high_quality']:.3f} | {kl} |")

    for r in rows:
        lines.append(line(r["variant"], r["loss"], r["dataset"], str(r["steps"]), f"{r['seconds']:.1f}", r))
    for dataset, s in reference.items():
        lines.append(line("*real test data*", "", dataset, "", "", s))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    registry = get_registry()
    supported, unsupported = point_variants(registry)
    variants = args.variants if args.variants is not None else supported
    for name in variants:
        if name not in supported:
            raise SystemExit(f"variant {name!r} does not train on point data")
    pairs = plan(registry, variants, args.also if args.also is not None else ["gan=minimax"])
    work = args.work or Path(tempfile.mkdtemp(prefix="ganzoo-mode-collapse-"))
    work.mkdir(parents=True, exist_ok=True)

    # an untimed 1-step run pays the one-time costs (lazy imports of the optimizers, matplotlib) before any timing
    ganzoo.train(pairs[0][0], work / "warm-up", registry=registry, dataset=args.datasets[0], steps=1, device="cpu")
    rows = []
    for variant, loss in pairs:
        for dataset in args.datasets:
            print(f"training {variant} ({loss}) on {dataset} for {args.steps} steps ...", file=sys.stderr, flush=True)
            rows.append(run_one(registry, variant, loss, dataset, args, work))
    reference = {dataset: reference_scores(registry, dataset, args) for dataset in args.datasets}

    print(table(rows, reference))
    result = {
        "command": "python " + shlex.join([os.path.relpath(__file__, ROOT),
                                           *(argv if argv is not None else sys.argv[1:])]),
        "settings": {"steps": args.steps, "seed": args.seed, "samples": args.samples, "sample_seed": args.seed + 1,
                     "threads": args.threads},
        "rule": "high quality: < 3 std from the nearest mode; covered: >= 1 high-quality sample "
                "(strict: >= 0.1 / num_modes of the samples); KL: nearest-mode histogram vs uniform",
        "rows": rows,
        "reference_real_test_data": reference,
        "variants_without_point_support": unsupported,
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__,
                    "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "load_avg_at_end": os.getloadavg() if hasattr(os, "getloadavg") else None},
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "work_dir": str(work),
    }
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.results}; runs and scatter plots in {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
