"""Metrics: feature extractors, streaming statistics, FID, KID, IS, precision/recall and mode coverage."""

from ganzoo.metrics.extractor import FeatureExtractor, Features

__all__ = ["FeatureExtractor", "Features"]
