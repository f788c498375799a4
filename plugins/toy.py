"""2-D Gaussian mixtures for mode-collapse experiments: ``ring8`` (Metz et al. 2016,
https://arxiv.org/abs/1611.02163) and ``grid25`` (VEEGAN, https://arxiv.org/abs/1705.07761; PacGAN,
https://arxiv.org/abs/1712.04086). Each is generated from the request's seed and scores generated points by modes
covered and high-quality share; see :mod:`ganzoo.data.toy`.
"""

from __future__ import annotations

import ganzoo
from ganzoo.data.toy import GRID25, RING8


@ganzoo.hookimpl
def ganzoo_register_datasets(register):
    register(ganzoo.DatasetSpec(
        "ring8", "8 Gaussians on a circle of radius 2, std 0.02 (Metz et al. 2016); 100k train / 10k test points",
        RING8.load, kind="points", num_classes=RING8.num_modes, evaluate=RING8.evaluate))
    register(ganzoo.DatasetSpec(
        "grid25", "25 Gaussians on the grid {-4,-2,0,2,4}^2, std 0.05 (VEEGAN, PacGAN); 100k train / 10k test points",
        GRID25.load, kind="points", num_classes=GRID25.num_modes, evaluate=GRID25.evaluate))
