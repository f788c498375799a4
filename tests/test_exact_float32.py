"""Scoring runs in full float32: matrix products at precision "highest" and cuDNN convolutions without TF32 while
features are extracted or precision/recall distances computed, and the caller's settings come back afterwards (also
after an error, and also when the caller used torch's per-operator flags). The flags are plain settings, so this is
checked on CPU; what they change on a GPU is measured by benchmarks/gpu_check.py."""

from __future__ import annotations

import pytest
import torch
from test_metrics_pipeline import Projection, batches_of, feature_set, random_images

from ganzoo.metrics.exact import full_float32
from ganzoo.metrics.pipeline import extract, score

NEW_FLAGS = hasattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision")  # torch >= 2.9


def _state() -> tuple:
    conv = torch.backends.cudnn.conv.fp32_precision if NEW_FLAGS else None
    try:
        legacy = torch.backends.cudnn.allow_tf32
    except RuntimeError:  # per-operator flags set apart
        legacy = "mixed"
    return torch.get_float32_matmul_precision(), legacy, conv


INSIDE = ("highest", False)  # matmul precision, cuDNN's TF32 flag


@pytest.fixture(autouse=True)
def _restore_torch_flags():
    matmul = torch.get_float32_matmul_precision()
    conv = (torch.backends.cudnn.conv.fp32_precision, torch.backends.cudnn.rnn.fp32_precision) if NEW_FLAGS else None
    legacy = torch.backends.cudnn.allow_tf32 if not NEW_FLAGS else None
    yield
    torch.set_float32_matmul_precision(matmul)
    if NEW_FLAGS:
        torch.backends.cudnn.conv.fp32_precision, torch.backends.cudnn.rnn.fp32_precision = conv
    else:
        torch.backends.cudnn.allow_tf32 = legacy


@pytest.mark.parametrize("matmul", ["highest", "high", "medium"])
def test_inside_full_float32_and_afterwards_the_callers_settings(matmul):
    torch.set_float32_matmul_precision(matmul)
    before = _state()
    assert before[1] is True  # PyTorch's default: cuDNN may use TF32
    with full_float32():
        assert _state()[:2] == INSIDE
    assert _state() == before


def test_the_settings_come_back_after_an_error():
    torch.set_float32_matmul_precision("medium")
    before = _state()
    with pytest.raises(RuntimeError, match="inside"), full_float32():
        raise RuntimeError("inside")
    assert _state() == before


@pytest.mark.skipif(not NEW_FLAGS, reason="torch < 2.9 has no per-operator fp32_precision flags")
@pytest.mark.parametrize("conv, rnn", [("tf32", "ieee"), ("ieee", "tf32")])
def test_per_operator_flags_set_apart_are_handled_and_restored(conv, rnn):
    torch.backends.cudnn.conv.fp32_precision, torch.backends.cudnn.rnn.fp32_precision = conv, rnn
    before = _state()
    assert before[1] == "mixed"  # torch refuses to report the old flag now
    with full_float32():
        assert torch.backends.cudnn.conv.fp32_precision == "ieee"
        assert torch.get_float32_matmul_precision() == "highest"
    assert _state() == before and torch.backends.cudnn.rnn.fp32_precision == rnn


def test_default_settings_are_left_alone_where_they_already_give_float32():
    before = (torch.backends.cuda.matmul.fp32_precision if NEW_FLAGS else None, _state())
    with full_float32():
        pass
    assert (torch.backends.cuda.matmul.fp32_precision if NEW_FLAGS else None, _state()) == before


class RecordsFlags(Projection):
    seen: list

    def forward(self, images):
        self.seen.append(_state()[:2])
        return super().forward(images)


def test_extract_computes_features_in_full_float32():
    torch.set_float32_matmul_precision("medium")
    extractor = RecordsFlags()
    extractor.seen = []
    extract(extractor, batches_of(random_images(40, 0), size=16))
    assert extractor.seen == [INSIDE] * 3 and torch.get_float32_matmul_precision() == "medium"


def test_images_drawn_by_the_batches_iterator_keep_the_callers_settings():
    torch.set_float32_matmul_precision("high")
    seen = []

    def batches():
        for batch in batches_of(random_images(20, 0), size=10):
            seen.append(_state()[:2])  # a generator sampled here, as the engine's tracking does
            yield batch

    extract(Projection(), batches())
    assert seen == [("high", True)] * 2


def test_precision_recall_distances_in_full_float32(monkeypatch):
    seen = []

    def recording(*args, **kwargs):
        seen.append(_state()[:2])
        return 0.5, 0.5

    monkeypatch.setattr("ganzoo.metrics.pipeline.precision_recall", recording)
    real, fake = feature_set(30, 0), feature_set(30, 1)
    torch.set_float32_matmul_precision("medium")
    result = score(real, fake, device="cpu")
    assert result["precision"] == 0.5 and seen == [INSIDE]
