"""AC-GAN: Odena, Olah & Shlens 2017, "Conditional Image Synthesis With Auxiliary Classifier GANs",
https://arxiv.org/abs/1610.09585.

G is conditioned like cGAN's (``[z, embed(y)]`` into DCGAN's generator). D is not given the label: it has DCGAN's
trunk and two heads, the real/fake logit (``forward``) and class logits (``classify``). The class term is the
registered ``auxiliary_classifier`` regulariser, weighted by the paper's factor 1 (D maximises L_S + L_C, G
maximises L_C - L_S): cross-entropy of D's classifier on real samples and on generated ones (with the labels they
were generated for) joins D's loss, and on generated ones G's loss.

Whether the class loss on *generated* samples trains D: in the paper it does (L_C sums over real and fake), and
so it does here. Later implementations, PyTorch-StudioGAN's among them, train D's classifier on real samples only,
since classifying fakes also rewards D for G's easy-to-classify samples; ``--reg auxiliary_classifier=off --reg
auxiliary_classifier_real=1`` trains that way.

Defaults: dcgan's budget (G twice as wide as D, EMA 0.9995, 8000 steps of batch 64, the learning rates decaying
over the second half) with the paper's optimizer, Adam 2e-4 with betas (0.5, 0.999) for both networks. With G
conditioned on a learned embedding (the generator cGAN had before) it collapsed within each class on MNIST and
drew the classes permuted; with cGAN's one-hot G it does neither (seed 0: class accuracy 98.65%), though its
samples vary less within a class than cGAN's (docs/benchmarks.md, "Conditional variants").
"""

from __future__ import annotations

import dataclasses

import torch
from ganzoo_plugins.cgan import CGANGenerator
from ganzoo_plugins.dcgan import IMAGE_SIZES, _plan, dcgan_defaults, default_width
from torch import nn

import ganzoo

PAPER_ADAM = ganzoo.OptimizerSpec("adam", 2e-4, (0.5, 0.999))


class ACGANDiscriminator(ganzoo.Discriminator):
    """(B, C, S, S) -> (B,) real/fake logits; ``classify`` gives (B, K) class logits from the same trunk."""

    def __init__(self, data_shape: tuple[int, ...] = (1, 32, 32), num_classes: int = 10,
                 width: int | None = None, g_width: int | None = None, d_width: int | None = None,
                 output_bias: bool = False) -> None:
        super().__init__(data_shape, num_classes)
        channels, size = self.data_shape[0], self.data_shape[1]
        base, n_down = _plan(size)
        hidden = d_width or width or default_width(size)
        layers: list[nn.Module] = [nn.Conv2d(channels, hidden, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        for _ in range(n_down - 1):  # DCGAN's trunk: each halves the resolution and doubles the channels
            layers += [nn.Conv2d(hidden, hidden * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(hidden * 2),
                       nn.LeakyReLU(0.2, True)]
            hidden *= 2
        self.trunk = nn.Sequential(*layers)  # (B, hidden, base, base)
        self.adversarial = nn.Conv2d(hidden, 1, base, 1, 0, bias=False)  # (B, 1, 1, 1)
        self.classifier = nn.Conv2d(hidden, num_classes, base, 1, 0)  # (B, K, 1, 1)
        ganzoo.init_normal_(self, 0.02)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.adversarial(self.trunk(x)).flatten()

    def classify(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits (B, K) of the auxiliary classifier."""
        return self.classifier(self.trunk(x)).flatten(1)


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    register(ganzoo.VariantSpec(
        name="acgan",
        summary="Auxiliary-classifier GAN: D also classifies, G is trained to be classified (Odena et al. 2017)",
        paper="https://arxiv.org/abs/1610.09585",
        generator=CGANGenerator,
        discriminator=ACGANDiscriminator,
        loss="non_saturating",
        regularisers={"auxiliary_classifier": 1.0},
        defaults=dataclasses.replace(dcgan_defaults(), g_optimizer=PAPER_ADAM, d_optimizer=PAPER_ADAM),
        image_sizes=IMAGE_SIZES,
        channels=(1, 3),
        conditional=True,
    ))
