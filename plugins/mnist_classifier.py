"""The ``mnist-classifier`` extractor: a small CNN trained on MNIST (weights packaged with ganzoo), giving
128-d features for a fast MNIST FID and 10 logits for Inception Score and mode coverage.

Trained by ``benchmarks/train_mnist_classifier.py``; see ``ganzoo/metrics/mnist_classifier.py`` for the network and
the exact preprocessing (gray, 28 x 28 bilinear antialiased, MNIST mean / std).
"""

from __future__ import annotations

import ganzoo
from ganzoo.metrics.mnist_classifier import FEATURE_DIM, NUM_CLASSES, load_mnist_classifier


@ganzoo.hookimpl
def ganzoo_register_extractors(register):
    register(ganzoo.ExtractorSpec(
        name="mnist-classifier",
        summary="small MNIST CNN (packaged weights): 128-d penultimate features, 10 digit logits; 28x28 gray input",
        build=load_mnist_classifier,
        feature_dim=FEATURE_DIM,
        num_classes=NUM_CLASSES,
        datasets=("mnist",),  # its features and classes mean nothing on other data
        version="1",  # bump when the packaged weights are retrained
    ))
