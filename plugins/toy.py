"""2-D point datasets. Gaussian mixtures for mode-collapse experiments: ``ring8`` (Metz et al. 2016,
https://arxiv.org/abs/1611.02163) and ``grid25`` (VEEGAN, https://arxiv.org/abs/1705.07761; PacGAN,
https://arxiv.org/abs/1712.04086). GAN Lab's distributions (Kahng et al. 2018, https://poloclub.github.io/ganlab/):
``line``, ``two-gaussians``, ``ring``, ``spiral`` and ``two-moons``. Each is generated from the request's seed and
scores generated points by modes covered and high-quality share; see :mod:`ganzoo.data.toy` and
:mod:`ganzoo.data.shapes`.
"""

from __future__ import annotations

import ganzoo
from ganzoo.data.shapes import LINE, MOONS, RING, SPIRAL, TWO_GAUSSIANS
from ganzoo.data.toy import GRID25, RING8

_SIZES = "100k train / 10k test points"


@ganzoo.hookimpl
def ganzoo_register_datasets(register):
    for name, data, summary in (
        ("ring8", RING8, "8 Gaussians on a circle of radius 2, std 0.02 (Metz et al. 2016)"),
        ("grid25", GRID25, "25 Gaussians on the grid {-4,-2,0,2,4}^2, std 0.05 (VEEGAN, PacGAN)"),
        ("line", LINE, "a line from (-2, -1) to (2, 1), std 0.05; its 8 equal arcs count as modes (GAN Lab)"),
        ("two-gaussians", TWO_GAUSSIANS, "2 Gaussians at (-1.25, -1.25) and (1.25, 1.25), std 0.25 (GAN Lab)"),
        ("ring", RING, "a circle of radius 2, std 0.05; its 8 equal arcs count as modes (GAN Lab)"),
        ("spiral", SPIRAL, "a spiral of 1.25 turns, radius 0.375 to 2.25, std 0.05; 10 arcs count as modes"),
        ("two-moons", MOONS, "two interleaved half circles of radius 1.6, std 0.05; 4 arcs each count as modes"),
    ):
        register(ganzoo.DatasetSpec(name, f"{summary}; {_SIZES}", data.load, kind="points",
                                    num_classes=data.num_modes, evaluate=data.evaluate))
