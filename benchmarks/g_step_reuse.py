"""What G's update reusing the samples of D's last critic step saves per training step.

Two ways of running the same engine step on one ``Trainer``, alternating in rounds so that a busy machine slows
both alike: the engine's (G's forward in D's last critic step keeps its graph and G's update learns from those
samples) and the earlier one (a no-grad forward for D, then a second, fresh forward for G's update, which is what
``ganzoo lab`` still does for a lone G step). Prints the median seconds per step, wall and CPU, and the ratio.

    python benchmarks/g_step_reuse.py dcgan --threads 1
    python benchmarks/g_step_reuse.py dcgan wgan-gp --threads 2 --rounds 12
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import common
import torch

from ganzoo.engine.config import TrainConfig
from ganzoo.engine.loop import Trainer
from ganzoo.engine.rundir import RunDir
from ganzoo.plugins import get_registry


def _steps(trainer: Trainer) -> dict[str, Callable[[], None]]:
    n = trainer.config.n_critic

    def reuse() -> None:
        for k in range(n):
            d = trainer.d_step(trainer.step * n + k, keep_fake=k == n - 1)
        trainer.g_step(d.real, d.real_labels, d.fakes)

    def fresh() -> None:
        for k in range(n):
            d = trainer.d_step(trainer.step * n + k)
        trainer.g_step(d.real, d.real_labels)

    return {"reuse (engine)": reuse, "fresh G forward (earlier)": fresh}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--steps", type=int, default=8, help="steps per round")
    parser.add_argument("--amp", default="auto", choices=["auto", "off", "bf16", "fp16"])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warning = common.load_warning()
    if warning:
        print(f"warning: {warning}")
    print(f"| variant | precision | how | s / step, wall | s / step, CPU ({args.threads} thread(s)) |")
    print("|---|---|---|---:|---:|")
    for name in args.variants:
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(TrainConfig(variant=name, device="cpu", fid_every=0, amp=args.amp),
                              RunDir(Path(tmp) / "run"), get_registry())
            ways = _steps(trainer)
            for step in ways.values():  # warm-up
                for _ in range(3):
                    step()
            times: dict[str, list[tuple[float, float]]] = {how: [] for how in ways}
            for r in range(args.rounds):
                for how in list(ways) if r % 2 == 0 else list(ways)[::-1]:
                    wall, cpu = time.perf_counter(), time.process_time()
                    for _ in range(args.steps):
                        ways[how]()
                    times[how].append(((time.perf_counter() - wall) / args.steps,
                                       (time.process_time() - cpu) / args.steps))
        medians = {how: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t))
                   for how, t in times.items()}
        for how, (wall, cpu) in medians.items():
            print(f"| {name} | {trainer.config.amp} | {how} | {wall:.4f} | {cpu:.4f} |")
        (reuse_wall, _), (fresh_wall, _) = medians.values()
        print(f"| {name} | | fresh / reuse | {fresh_wall / reuse_wall:.3f}x | |", flush=True)


if __name__ == "__main__":
    main()
