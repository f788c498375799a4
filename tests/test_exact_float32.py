"""Scoring runs in full float32: no TF32 in cuDNN convolutions or CUDA matrix products while features are extracted
or precision/recall distances computed, and the caller's settings come back afterwards (also after an error). The
flags are plain settings, so this is checked on CPU; what they change is measured on a GPU by
benchmarks/gpu_check.py."""

from __future__ import annotations

import pytest
from test_metrics_pipeline import Projection, batches_of, feature_set, random_images

from ganzoo.metrics import exact
from ganzoo.metrics.exact import full_float32
from ganzoo.metrics.pipeline import extract, score


def _flags() -> list:
    return [getattr(holder, name) for holder, name, _ in exact._precision_settings()]


def _full_float32_inside() -> list:
    return [value for _, _, value in exact._precision_settings()]


def test_inside_no_tf32_and_afterwards_the_callers_settings():
    before = _flags()
    with full_float32():
        assert _flags() == _full_float32_inside()
    assert _flags() == before


def test_the_settings_come_back_after_an_error():
    before = _flags()
    with pytest.raises(RuntimeError, match="inside"), full_float32():
        raise RuntimeError("inside")
    assert _flags() == before


def test_a_caller_that_allows_tf32_gets_it_back():
    holder, name, _ = exact._precision_settings()[1]  # CUDA matrix products
    saved = getattr(holder, name)
    allowed = "tf32" if name == "fp32_precision" else True
    try:
        setattr(holder, name, allowed)
        with full_float32():
            assert getattr(holder, name) != allowed
        assert getattr(holder, name) == allowed
    finally:
        setattr(holder, name, saved)


class RecordsFlags(Projection):
    seen: list

    def forward(self, images):
        self.seen.append(_flags())
        return super().forward(images)


def test_extract_computes_features_in_full_float32():
    extractor = RecordsFlags()
    extractor.seen = []
    extract(extractor, batches_of(random_images(40, 0), size=16))
    assert extractor.seen == [_full_float32_inside()] * 3


def test_precision_recall_distances_in_full_float32(monkeypatch):
    seen = []

    def recording(*args, **kwargs):
        seen.append(_flags())
        return 0.5, 0.5

    monkeypatch.setattr("ganzoo.metrics.pipeline.precision_recall", recording)
    result = score(feature_set(30, 0), feature_set(30, 1), device="cpu")
    assert result["precision"] == 0.5 and seen == [_full_float32_inside()]


def test_images_drawn_by_the_batches_iterator_keep_the_callers_settings():
    seen = []

    def batches():
        for batch in batches_of(random_images(20, 0), size=10):
            seen.append(_flags())  # a generator sampled here, as the engine's tracking does
            yield batch

    before = _flags()
    extract(Projection(), batches())
    assert seen == [before, before]
