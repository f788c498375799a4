"""Seconds per generator step of every image variant at its defaults (MNIST 32x32), and what its default
``steps`` cost: the figures behind the default step budgets (docs/variants.md, "Training lengths on a CPU").

Each variant trains through the engine's own ``Trainer.train_step`` on MNIST: ``--warmup`` untimed steps, then the
mean of ``--steps`` timed ones. Run it on a quiet machine; ``--threads 1`` is the steadier figure.

    python benchmarks/step_cost.py --threads 1
    python benchmarks/step_cost.py dcgan rpgan --threads 2
    python benchmarks/step_cost.py dcgan --threads 2 --amp off bf16   # one row per precision
    python benchmarks/step_cost.py dcgan --threads 2 --net g_width=128  # network options as `ganzoo train --net`
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import common
import torch

from ganzoo.engine.config import TrainConfig
from ganzoo.engine.loop import Trainer
from ganzoo.engine.rundir import RunDir
from ganzoo.errors import ConfigError
from ganzoo.plugins import get_registry
from ganzoo.specs import network_edits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", help="default: every registered image variant")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--amp", nargs="+", default=["auto"], choices=["auto", "off", "bf16", "fp16"],
                        help="training precision(s) to time (default: auto, what `ganzoo train` uses here)")
    parser.add_argument("--net", action="append", default=[], metavar="KEY=VALUE",
                        help="a network option over the variant's defaults, as `ganzoo train --net` (repeatable)")
    args = parser.parse_args()
    try:
        edits = network_edits(args.net)
    except ConfigError as exc:
        parser.error(f"--net {exc}")
    torch.set_num_threads(args.threads)
    registry = get_registry()
    names = args.variants or [n for n in registry.names("variant") if registry.variant(n).image_sizes]
    warning = common.load_warning()
    if warning:
        print(f"warning: {warning}")
    if edits:
        print(f"network options: {edits}")
    print(f"| variant | precision | s / step ({args.threads} thread(s)) | default steps | batch | "
          "default run, minutes |")
    print("|---|---|---:|---:|---:|---:|")
    for name, amp in ((name, amp) for name in names for amp in args.amp):
        with tempfile.TemporaryDirectory() as tmp:
            network = {**registry.variant(name).defaults.network, **edits} if edits else None
            trainer = Trainer(TrainConfig(variant=name, device="cpu", fid_every=0, amp=amp, network=network),
                              RunDir(Path(tmp) / "run"), registry)
            for _ in range(args.warmup):
                trainer.train_step()
            started = time.perf_counter()
            for _ in range(args.steps):
                trainer.train_step()
            per_step = (time.perf_counter() - started) / args.steps
        cfg = trainer.config
        minutes = per_step * cfg.steps / 60
        print(f"| {name} | {cfg.amp} | {per_step:.4f} | {cfg.steps} | {cfg.batch_size} | {minutes:.1f} |", flush=True)


if __name__ == "__main__":
    main()
