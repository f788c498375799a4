"""An example ganzoo plugin: registers the ``relativistic`` loss, the ``drift`` regulariser and the
``example-rsgan`` and class-conditional ``example-crsgan`` variants.

ganzoo imports this module through the ``ganzoo`` entry point in pyproject.toml and calls the functions marked
``@ganzoo.hookimpl``; their names must match the hooks in ``ganzoo.hookspecs``.
"""

from __future__ import annotations

import ganzoo
from ganzoo_example.conditional import ConditionalDiscriminator, ConditionalGenerator
from ganzoo_example.drift import DRIFT
from ganzoo_example.loss import RELATIVISTIC
from ganzoo_example.nets import SmallDiscriminator, SmallGenerator

__version__ = "0.1.0"


@ganzoo.hookimpl
def ganzoo_register_losses(register):
    register(RELATIVISTIC)


@ganzoo.hookimpl
def ganzoo_register_regularisers(register):
    register(DRIFT)  # any variant can use it: ganzoo train wgan-gp --reg drift=0.001


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    adam = ganzoo.OptimizerSpec("adam", 2e-4, (0.5, 0.999))
    register(ganzoo.VariantSpec(
        name="example-rsgan",
        summary="Small conv GAN with the relativistic standard loss (example plugin)",
        paper="https://arxiv.org/abs/1807.00734",
        generator=SmallGenerator,
        discriminator=SmallDiscriminator,
        loss="relativistic",  # any registered loss name works, from this plugin or another
        defaults=ganzoo.TrainDefaults(
            steps=1000, batch_size=64, z_dim=64, n_critic=1,
            g_optimizer=adam, d_optimizer=adam,
            image_size=28,
        ),
        image_sizes=(16, 28, 32),
        channels=(1, 3),
    ))
    register(ganzoo.VariantSpec(
        name="example-crsgan",
        summary="example-rsgan told which class to draw (example plugin)",
        generator=ConditionalGenerator,
        discriminator=ConditionalDiscriminator,
        loss="relativistic",
        defaults=ganzoo.TrainDefaults(steps=1000, batch_size=64, z_dim=64, g_optimizer=adam, d_optimizer=adam,
                                      image_size=28),
        image_sizes=(16, 28, 32),
        channels=(1, 3),
        conditional=True,  # networks built with num_classes=K, called as G(z, y) and D(x, y)
    ))
