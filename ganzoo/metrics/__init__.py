"""Metrics: feature extractors, streaming statistics, FID, KID, IS, precision/recall and mode coverage."""

from ganzoo.metrics.coverage import mode_coverage
from ganzoo.metrics.extractor import FeatureExtractor, Features
from ganzoo.metrics.frechet import frechet_distance
from ganzoo.metrics.inception_score import inception_score
from ganzoo.metrics.kid import kernel_inception_distance
from ganzoo.metrics.pipeline import FeatureSet, extract, score
from ganzoo.metrics.precision_recall import precision_recall
from ganzoo.metrics.stats import StreamingStats

__all__ = [
    "FeatureExtractor", "FeatureSet", "Features", "StreamingStats", "extract", "frechet_distance",
    "inception_score", "kernel_inception_distance", "mode_coverage", "precision_recall", "score",
]
