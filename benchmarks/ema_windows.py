"""Other EMA averaging windows on one trajectory: a single training run (a variant at its defaults, dcgan unless
named, seed 0 unless given) keeps three extra EMA generators beside the trainer's own, so the windows differ and
nothing else does. Each is written into a copy of the finished run (its G_ema replaced) for ``ganzoo bench --run``
to score:

    python benchmarks/ema_windows.py bench-runs/ema-windows            # dcgan, seed 0
    python benchmarks/ema_windows.py bench-runs/ema-rpgan-s1 rpgan 1   # rpgan, seed 1
    for n in default quarter half d0.998; do
        ganzoo bench dcgan --run bench-runs/ema-windows/$n --out bench-runs/ema-windows/$n-bench -q
    done

The extra averages replace ``EMA`` for this process only (a patch of the class, not an option of ganzoo): "quarter"
and "half" average over about the last quarter / half of the steps so far (capped at 2000 and 4000 steps), "d0.998"
is the trainer's EMA at decay 0.998 (its warm-up kept). docs/variants.md (`dcgan`, `rpgan`) has the figures.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import torch

import ganzoo
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.ema import EMA

if sys.argv[1:2] in (["-h"], ["--help"]):
    print(__doc__)
    sys.exit(0)
if (not 2 <= len(sys.argv) <= 4 or sys.argv[1].startswith("-")
        or (len(sys.argv) == 4 and not sys.argv[3].isdigit())):  # an option is not taken for the output folder
    sys.exit("usage: python benchmarks/ema_windows.py OUT_DIR [VARIANT [SEED]]")
OUT = Path(sys.argv[1])
VARIANT = sys.argv[2] if len(sys.argv) > 2 else "dcgan"
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 0


class WindowEMA(EMA):
    """d_t = min(cap, 1 - 1 / (frac * (t + 1) + 1)): an average over about the last frac * t steps, capped."""

    def __init__(self, model, frac: float, cap: float) -> None:
        super().__init__(model, cap)
        self.frac = frac

    @torch.no_grad()
    def update(self, model, step):
        decay = min(self.decay, 1 - 1 / (self.frac * (step + 1) + 1))
        torch._foreach_lerp_(list(self.module.parameters()), [p.detach() for p in model.parameters()], 1.0 - decay)
        for ema_buf, buf in zip(self.module.buffers(), model.buffers(), strict=True):
            ema_buf.copy_(buf)
        self._calibrated = False


class FixedEMA(EMA):
    """The trainer's EMA at another decay (its warm-up kept)."""


EXTRAS: dict[str, EMA] = {}
_init, _update = EMA.__init__, EMA.update


def init(self, model, decay):
    _init(self, model, decay)
    if type(self) is EMA and not EXTRAS:  # the trainer's own: start the extras from the same weights
        EXTRAS["quarter"] = WindowEMA(model, 0.25, 0.9995)  # about t/4 steps: 2000 at step 8000
        EXTRAS["half"] = WindowEMA(model, 0.5, 0.99975)  # about t/2 steps: 4000 at step 8000
        EXTRAS["d0.998"] = FixedEMA(model, 0.998)  # about 500 steps from step 4490 on


def update(self, model, step):
    _update(self, model, step)
    if type(self) is EMA:
        for extra in EXTRAS.values():
            extra.update(model, step)


EMA.__init__, EMA.update = init, update

run = ganzoo.train(VARIANT, OUT / "default", seed=SEED)
path = run.list_checkpoints()[-1][1]
tensors, meta = ckpt.load_tensors(path)
meta = {k: v for k, v in meta.items() if k not in ("sha256", "meta_sha256")}
for name, ema in EXTRAS.items():
    ema.recalibrate()
    copy = OUT / name
    shutil.copytree(OUT / "default", copy)
    for p in (copy / "checkpoints").iterdir():
        if p != copy / "checkpoints" / path.name:
            p.unlink()
    ckpt.save_tensors(copy / "checkpoints" / path.name, {**tensors, **ckpt.module_tensors("G_ema", ema.module)}, meta)
    print("wrote", copy, flush=True)
