"""The ``inception`` feature extractor: the standard FID network, preprocessing as pytorch-fid does it.

Preprocessing of a uint8 batch ``(N, C, H, W)``, C in {1, 3}: to float32; unless already 299x299, bilinear resize
to 299x299 (``align_corners=False``, no antialias, as ``F.interpolate`` in pytorch-fid); map [0, 255] to [-1, 1]
(``x / 127.5 - 1``, pytorch-fid's ``2 * (x / 255) - 1``); grayscale repeated to three channels. The last two steps
are folded into the first convolution (see ``ganzoo/metrics/inception_fast.py``), so a
grayscale image is resized once, not three times. Output: the 2048-d average-pooled features (pytorch-fid's
``dims=2048``) and, when the weights include the classifier, the 1008 logits (TF's graph; IS uses them).
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from ganzoo.errors import ConfigError
from ganzoo.metrics.extractor import FeatureExtractor, Features
from ganzoo.metrics.inception_fast import FastFIDInception
from ganzoo.metrics.inception_net import FEATURE_DIM, INPUT_SIZE, NUM_CLASSES, FIDInceptionV3
from ganzoo.metrics.inception_weights import InceptionWeights, resolve_weights

DEFAULT_BATCH_SIZE = 16  # images per forward pass: larger batches gain nothing on 2 cores and cost memory


class InceptionExtractor(FeatureExtractor):
    """FID Inception-v3 features of uint8 images; ``logits`` is None when the weights lack the classifier."""

    feature_dim = FEATURE_DIM
    channels = (1, 3)

    def __init__(self, weights: InceptionWeights, batch_size: int = DEFAULT_BATCH_SIZE, onednn: bool = True) -> None:
        super().__init__()
        if batch_size < 1:
            raise ConfigError(f"batch_size must be positive, got {batch_size}")
        with torch.device("meta"):  # skip the random initialisation the weights overwrite anyway
            net = FIDInceptionV3()
        net.load_state_dict(weights.state, strict=weights.has_logits, assign=True)
        if not weights.has_logits:
            net.fc.to_empty(device="cpu")  # logits are reported as None; zeros keep the unused output defined
            with torch.no_grad():
                net.fc.weight.zero_()
                net.fc.bias.zero_()
        self.net = FastFIDInception(net, onednn=onednn).eval().to(memory_format=torch.channels_last)
        self.has_logits = weights.has_logits
        self.num_classes = NUM_CLASSES if weights.has_logits else 0
        self.batch_size = batch_size
        self.source = weights.source

    def forward(self, images: torch.Tensor) -> Features:
        """Features (and logits) of uint8 ``images`` (N, 1 or 3, H, W), computed in chunks of ``batch_size``."""
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in self.channels:
            raise ConfigError(
                f"the inception extractor takes uint8 images (N, 1 or 3, H, W), got {images.dtype} "
                f"{tuple(images.shape)}"
            )
        device = next(self.net.parameters()).device
        features, logits = [], []
        with torch.inference_mode():
            for chunk in images.split(self.batch_size) if len(images) else ():
                f, lg = self.net(preprocess(chunk.to(device)))
                features.append(f)
                logits.append(lg)
        feats = torch.cat(features) if features else torch.zeros(0, FEATURE_DIM, device=device)
        if not self.has_logits:
            return Features(feats, None)
        return Features(feats, torch.cat(logits) if logits else torch.zeros(0, NUM_CLASSES, device=device))


def preprocess(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float (N, C, 299, 299) in [0, 255], channels-last, resized as pytorch-fid does."""
    x = images.float()
    if x.shape[-2:] != (INPUT_SIZE, INPUT_SIZE):
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=False)
    return x.contiguous(memory_format=torch.channels_last)


def build_inception(device: str | torch.device = "cpu", weights: str | os.PathLike[str] | None = None,
                    batch_size: int = DEFAULT_BATCH_SIZE, download: bool = True,
                    onednn: bool = True) -> InceptionExtractor:
    """The FID Inception extractor on ``device``.

    ``weights`` overrides where the weights come from (see :func:`ganzoo.metrics.inception_weights.resolve_weights`;
    ``download=False`` never goes online); ``onednn=False`` uses plain ``conv2d`` / ``linear`` kernels on CPU.
    """
    weights_found = resolve_weights(weights, download=download)
    extractor = InceptionExtractor(weights_found, batch_size=batch_size, onednn=onednn)
    return extractor.to(device)
