"""Train ``dcgan`` with other Adam betas than its defaults: the measurement behind keeping (0.5, 0.999).

No CLI option sets the betas (the variant's defaults hold them), so this script swaps dcgan's defaults for ones
with the given betas, for G and D alike, before the plugins load, then runs the ordinary ``ganzoo`` command line.
The run's config.json does not record the betas; the command does.

    OMP_NUM_THREADS=1 python benchmarks/dcgan_betas.py 0.5 0.99 train dcgan --seed 0 --out exp/b2/b2_0.99
    OMP_NUM_THREADS=1 ganzoo bench dcgan --run exp/b2/b2_0.99 --out exp/b2/b2_0.99-bench

Only ``dcgan`` and the variant that shares its defaults (``cgan``) are affected.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable

import ganzoo_plugins.dcgan as dcgan

import ganzoo
from ganzoo.cli import main

USAGE = "usage: python benchmarks/dcgan_betas.py BETA1 BETA2 GANZOO-ARGS..."


def with_betas(beta1: float, beta2: float) -> Callable[[], ganzoo.TrainDefaults]:
    """A replacement for ``dcgan_defaults`` whose two Adam optimizers use ``(beta1, beta2)``."""
    original = dcgan.dcgan_defaults

    def defaults() -> ganzoo.TrainDefaults:
        d = original()
        return dataclasses.replace(d, g_optimizer=dataclasses.replace(d.g_optimizer, betas=(beta1, beta2)),
                                   d_optimizer=dataclasses.replace(d.d_optimizer, betas=(beta1, beta2)))
    return defaults


if __name__ == "__main__":
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(USAGE)
        sys.exit(0)
    try:
        beta1, beta2 = float(sys.argv[1]), float(sys.argv[2])
    except (IndexError, ValueError):
        sys.exit(USAGE)
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1) or len(sys.argv) < 4:
        sys.exit(USAGE)
    dcgan.dcgan_defaults = with_betas(beta1, beta2)
    sys.argv = ["ganzoo", *sys.argv[3:]]
    main()
