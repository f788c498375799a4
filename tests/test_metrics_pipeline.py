"""Feature extraction, FeatureSet files, scoring, cached reference features and the ``ganzoo fid`` sources.

A tiny extractor (a fixed random projection of the pixels) stands in for Inception, so these tests need no weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import make_image_folder

import ganzoo
from ganzoo.data import ArrayData
from ganzoo.errors import DataError, GanzooError, MetricError
from ganzoo.metrics import FeatureExtractor, Features
from ganzoo.metrics.frechet import frechet_distance
from ganzoo.metrics.pipeline import METRIC_KEYS, FeatureSet, extract, score
from ganzoo.metrics.reference import cache_path, reference_features, reference_order
from ganzoo.metrics.sources import compare, load_source, source_kind
from ganzoo.metrics.stats import StreamingStats
from ganzoo.registry import Registry
from ganzoo.specs import DatasetSpec, ExtractorSpec

SIZE = 8  # test images are 8 x 8


class Projection(FeatureExtractor):
    """Features: ``dim`` fixed random projections of the gray pixels (resized to 8 x 8); logits: the first K."""

    def __init__(self, dim: int = 6, num_classes: int = 0) -> None:
        super().__init__()
        self.feature_dim, self.num_classes = dim, num_classes
        self.register_buffer("proj", torch.randn(SIZE * SIZE, dim, generator=torch.Generator().manual_seed(0)))

    def forward(self, images: torch.Tensor) -> Features:
        x = images.float().mean(1, keepdim=True) / 255
        x = torch.nn.functional.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        feats = x.flatten(1) @ self.proj
        return Features(feats, feats[:, : self.num_classes] * 5 if self.num_classes else None)


def random_images(n: int, seed: int, channels: int = 1, bright: float = 1.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, channels, SIZE, SIZE, generator=g) * 255 * bright).to(torch.uint8)


def batches_of(images: torch.Tensor, size: int = 32):
    return [images[i:i + size] for i in range(0, len(images), size)]


def feature_set(n: int, seed: int, dim: int = 6, num_classes: int = 3, bright: float = 1.0, **kw) -> FeatureSet:
    return extract(Projection(dim, num_classes), batches_of(random_images(n, seed, bright=bright)), **kw)


# --- extract / FeatureSet --------------------------------------------------------------------------------------------


def test_extract_matches_direct_computation():
    images = random_images(150, 0)
    net = Projection(6, 3).train()
    fs = extract(net, batches_of(images, 40), keep=100)
    direct = net(images).features.double().numpy()
    assert not net.training  # extract put the extractor in eval mode
    assert fs.n == 150 and fs.dim == 6
    np.testing.assert_allclose(fs.stats.mean, direct.mean(0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fs.stats.covariance, np.cov(direct, rowvar=False), rtol=1e-5, atol=1e-9)
    assert fs.features.shape == (100, 6) and fs.features.dtype == np.float32
    np.testing.assert_allclose(fs.features, direct[:100], rtol=1e-6)
    assert fs.logits.shape == (150, 3)  # logits are kept for every sample
    assert extract(net, batches_of(images), keep_logits=10).logits.shape == (10, 3)
    assert extract(Projection(6, 0), batches_of(images)).logits is None


def test_extract_rejects_float_images_and_empty_input():
    with pytest.raises(MetricError, match="uint8"):
        extract(Projection(), [torch.rand(4, 1, SIZE, SIZE)])
    with pytest.raises(MetricError, match="no images"):
        extract(Projection(), [])


def test_feature_set_round_trip(tmp_path):
    fs = feature_set(40, 1)
    fs.labels = np.arange(40) % 3
    fs.meta["note"] = "test"
    fs.save(tmp_path / "fs.npz")
    back = FeatureSet.load(tmp_path / "fs.npz", dim=6)
    assert back.n == 40 and back.meta["note"] == "test"
    np.testing.assert_array_equal(back.features, fs.features)
    np.testing.assert_array_equal(back.logits, fs.logits)
    np.testing.assert_array_equal(back.labels, fs.labels)
    np.testing.assert_allclose(back.stats.covariance, fs.stats.covariance, rtol=1e-12)
    fs.save(tmp_path / "small.npz", stats_only=True)
    small = FeatureSet.load(tmp_path / "small.npz")
    assert small.features is None and small.logits is None and small.n == 40


def test_feature_set_loads_pytorch_fid_statistics(tmp_path):
    np.savez(tmp_path / "fid.npz", mu=np.zeros(6), sigma=np.eye(6))
    fs = FeatureSet.load(tmp_path / "fid.npz")
    assert fs.n is None and fs.features is None and fs.dim == 6
    np.savez(tmp_path / "bad.npz", mu=np.zeros(6), sigma=np.eye(6), features=np.zeros((3, 5), np.float32))
    with pytest.raises(MetricError, match="features have shape"):
        FeatureSet.load(tmp_path / "bad.npz")


# --- score -----------------------------------------------------------------------------------------------------------


def test_score_reports_every_metric():
    real, fake = feature_set(300, 2), feature_set(300, 3, bright=0.7)
    labels = np.asarray(torch.from_numpy(real.logits).argmax(1))
    result = score(real, fake, real_labels=labels, num_classes=3, kid_subsets=5, kid_subset_size=50,
                   device="cpu")
    assert result["skipped"] == {}
    assert set(METRIC_KEYS) <= set(result)
    expected_fid = frechet_distance(real.stats.mean, real.stats.covariance, fake.stats.mean,
                                    fake.stats.covariance)
    assert result["fid"] == pytest.approx(expected_fid) and result["fid"] > 0
    assert result["kid_mean"] > 0 and result["kid_std"] >= 0 and result["kid_subset_size"] == 50
    assert 0 <= result["precision"] <= 1 and 0 <= result["recall"] <= 1
    assert 1 <= result["is_mean"] <= 3
    assert result["modes_total"] == 3 and 0 <= result["modes_covered"] <= 3 and result["mode_kl"] >= 0
    assert result["num_real"] == 300 and result["num_fake"] == 300 and result["feature_dim"] == 6
    json.dumps(result)  # the report writes it as JSON


def test_score_of_a_set_against_itself():
    real = feature_set(200, 4)
    result = score(real, real, kid_subsets=3, kid_subset_size=50, device="cpu")
    assert result["fid"] == pytest.approx(0.0, abs=1e-9)
    assert (result["precision"], result["recall"]) == (1.0, 1.0)


def test_score_skips_fid_with_too_few_samples_but_keeps_the_rest():
    real, fake = feature_set(30, 5, dim=40), feature_set(30, 6, dim=40)
    result = score(real, fake, kid_subsets=2, device="cpu")
    assert result["fid"] is None
    assert result["skipped"]["fid"] == ("FID needs more samples than feature dimensions (got 30 for 40-d "
                                        "features); use --num-samples > 40")
    assert result["kid_mean"] is not None and result["precision"] is not None


def test_score_with_statistics_only_and_without_labels(tmp_path):
    real, fake = feature_set(100, 7, num_classes=0), feature_set(100, 8, num_classes=3)
    real.save(tmp_path / "real.npz", stats_only=True)
    result = score(FeatureSet.load(tmp_path / "real.npz"), fake, device="cpu")
    assert result["fid"] is not None
    for key in ("kid_mean", "kid_std", "precision", "recall"):
        assert result[key] is None and "statistics-only" in result["skipped"][key]
    assert result["is_mean"] is not None  # IS needs only the generated logits
    assert result["skipped"]["modes_covered"] == "the real images have no labels"
    mismatch = score(real, fake, real_labels=np.zeros(100, dtype=np.int64), num_classes=10, device="cpu",
                     kid_subsets=2)
    assert mismatch["skipped"]["mode_kl"] == "the extractor's 3 classes are not the dataset's 10 classes"
    no_logits = score(fake, real, device="cpu", kid_subsets=2)
    assert no_logits["skipped"]["is_mean"] == "the extractor gives no class logits"


def test_score_refuses_mismatched_dimensions():
    with pytest.raises(MetricError, match="6-d and fake features 5-d"):
        score(feature_set(20, 0), feature_set(20, 0, dim=5), device="cpu")


# --- reference features ----------------------------------------------------------------------------------------------


def make_registry(calls: list[str] | None = None, dim: int = 6) -> Registry:
    """A registry with one labelled image dataset ("blobs", 3 classes) and the projection extractor."""

    def load(request):
        if calls is not None:
            calls.append(request.split)
        n = 120 if request.split == "train" else 60
        images = random_images(n, 11 if request.split == "train" else 12, channels=request.channels or 1)
        return ArrayData(images, torch.arange(n) % 3, "image", 3)

    registry = Registry()
    registry.add(DatasetSpec("blobs", "test images", load, num_classes=3), "test")
    registry.add(ExtractorSpec("proj", "test projection", lambda device="cpu": Projection(dim, 3), dim, 3), "test")
    return registry


def test_reference_features_are_the_seeded_subset_with_labels_and_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    calls: list[str] = []
    registry = make_registry(calls)
    fs = reference_features(registry, "blobs", "test", "proj", 40, SIZE, 1)
    order = reference_order(60, 40)
    np.testing.assert_array_equal(fs.labels, (np.arange(60) % 3)[order])
    direct = Projection(6, 3)(random_images(60, 12)[torch.from_numpy(order)]).features.double().numpy()
    np.testing.assert_allclose(fs.stats.mean, direct.mean(0), rtol=1e-6)
    assert calls == ["test"]

    again = reference_features(registry, "blobs", "test", "proj", 40, SIZE, 1)
    assert calls == ["test"]  # served from the cache
    np.testing.assert_array_equal(again.features, fs.features)
    np.testing.assert_array_equal(again.labels, fs.labels)
    assert len(list((tmp_path / "cache" / "stats").glob("*.npz"))) == 1

    reference_features(registry, "blobs", "test", "proj", 30, SIZE, 1)  # another sample count: another entry
    reference_features(registry, "blobs", "train", "proj", 40, SIZE, 1)  # another split
    reference_features(registry, "blobs", "test", "proj", 40, SIZE, 3)  # another channel count
    assert calls == ["test", "test", "train", "test"]
    assert len(list((tmp_path / "cache" / "stats").glob("*.npz"))) == 4

    asked_for_more = reference_features(registry, "blobs", "test", "proj", 500, SIZE, 1)
    assert asked_for_more.n == 60  # the whole split when it is smaller than asked


def test_reference_features_recompute_a_corrupt_cache_entry(monkeypatch, tmp_path):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    calls: list[str] = []
    registry = make_registry(calls)
    first = reference_features(registry, "blobs", "test", "proj", 40, SIZE, 1)
    (entry,) = (tmp_path / "cache" / "stats").glob("*.npz")
    entry.write_bytes(b"truncated")
    second = reference_features(registry, "blobs", "test", "proj", 40, SIZE, 1)
    assert calls == ["test", "test"]
    np.testing.assert_array_equal(second.features, first.features)
    assert FeatureSet.load(entry).n == 40  # rewritten


def test_cache_key_names_the_configuration():
    key = {"dataset": "folder:/data/my images", "split": "test", "extractor": "inception", "num_samples": 10000,
           "image_size": 32}
    name = cache_path(key).name
    assert name.startswith("folder_data_my_images-test-inception-10000-32px-") and name.endswith(".npz")
    assert cache_path({**key, "channels": 3}) != cache_path({**key, "channels": 1})


# --- sources and compare ---------------------------------------------------------------------------------------------


def test_source_kinds(tmp_path):
    folder = make_image_folder(tmp_path / "imgs", n=3, size=SIZE)
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{}")
    np.savez(tmp_path / "s.npz", mu=np.zeros(2), sigma=np.eye(2))
    (tmp_path / "notes.txt").write_text("x")
    assert source_kind(folder) == "folder"
    assert source_kind(tmp_path / "run") == "run"
    assert source_kind(tmp_path / "s.npz") == "npz"
    for bad in ("notes.txt", "missing"):
        with pytest.raises(DataError):
            source_kind(tmp_path / bad)


def test_compare_folder_with_folder_and_save_stats(tmp_path):
    a = make_image_folder(tmp_path / "a", n=30, size=SIZE, seed=0)
    b = make_image_folder(tmp_path / "b", n=25, size=SIZE, channels=3, seed=1)
    registry = make_registry()
    result = compare(a, b, "proj", 1000, registry, "cpu", save_stats=tmp_path / "a_stats.npz")
    assert result["num_real"] == 30 and result["num_fake"] == 25
    assert result["fid"] > 0 and result["sources"]["b"]["kind"] == "folder"
    saved = FeatureSet.load(tmp_path / "a_stats.npz")
    assert saved.n == 30 and saved.features.shape == (30, 6)
    # the saved statistics stand in for the folder and give the same FID
    again = compare(tmp_path / "a_stats.npz", b, "proj", 1000, registry, "cpu")
    assert again["fid"] == pytest.approx(result["fid"], rel=1e-9)
    # num_samples takes a seeded subset of a larger folder
    assert compare(a, b, "proj", 20, registry, "cpu")["num_real"] == 20


def test_compare_two_statistics_files_without_building_the_extractor(tmp_path):
    built = []
    registry = Registry()
    registry.add(ExtractorSpec("proj", "x", lambda device="cpu": built.append(1) or Projection(), 2), "test")
    np.savez(tmp_path / "a.npz", mu=np.zeros(2), sigma=np.eye(2))
    np.savez(tmp_path / "b.npz", mu=np.ones(2), sigma=np.eye(2))
    result = compare(tmp_path / "a.npz", tmp_path / "b.npz", "proj", 10, registry, "cpu")
    assert result["fid"] == pytest.approx(2.0) and not built


def test_compare_refuses_bad_inputs(tmp_path):
    registry = make_registry()
    few = make_image_folder(tmp_path / "few", n=5, size=SIZE)
    many = make_image_folder(tmp_path / "many", n=20, size=SIZE)
    (tmp_path / "empty").mkdir()
    np.savez(tmp_path / "no_sigma.npz", mu=np.zeros(6))
    np.savez(tmp_path / "wrong_dim.npz", mu=np.zeros(4), sigma=np.eye(4))
    cases = [
        ((tmp_path / "missing", many), DataError, "does not exist"),
        ((tmp_path / "empty", many), DataError, "holds no images"),
        ((tmp_path / "no_sigma.npz", many), MetricError, "no sigma"),
        ((tmp_path / "wrong_dim.npz", many), MetricError, "4-d statistics"),
        ((many, few), MetricError, r"few holds 5 images, too few for FID with the 6-d features of 'proj'"),
    ]
    for (a, b), error, match in cases:
        with pytest.raises(error, match=match) as info:
            compare(a, b, "proj", 1000, registry, "cpu")
        assert isinstance(info.value, GanzooError) and "\n" not in str(info.value)
    with pytest.raises(MetricError, match="got 4 for 6-d"):
        compare(many, many, "proj", 4, registry, "cpu")  # too few asked for
    with pytest.raises(GanzooError, match="unknown extractor"):
        compare(many, many, "nope", 10, registry, "cpu")


def test_run_sources_are_the_quantised_samples_whatever_the_batch(tmp_path, monkeypatch):
    """A run side is ``sample(run, n, seed)`` quantised as ``ganzoo sample -o DIR/`` writes it, in any batching."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")

    class TinyGenerator(torch.nn.Module):
        z_dim, data_shape = 4, (1, SIZE, SIZE)

        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, SIZE * SIZE)

        def forward(self, z: torch.Tensor) -> torch.Tensor:
            return torch.tanh(self.linear(z)).view(-1, 1, SIZE, SIZE)

    torch.manual_seed(0)
    run = SimpleNamespace(sampler=TinyGenerator(), num_classes=0)
    monkeypatch.setattr(ganzoo.api, "load", lambda path, device="cpu", registry=None: run)
    one = load_source(run_dir, Projection(), 250, make_registry(), "cpu", batch_size=100)
    two = load_source(run_dir, Projection(), 250, make_registry(), "cpu", batch_size=7)
    assert one.n == two.n == 250
    # float32 matrix products round differently with the batch shape on some CPUs (AVX-512 EPYC): a last-bit tolerance
    np.testing.assert_allclose(one.features, two.features, rtol=1e-6, atol=1e-6)
    images = ganzoo.data.to_uint8_images(ganzoo.api.sample(run, 250, seed=0))
    np.testing.assert_allclose(one.stats.mean, Projection()(images).features.double().mean(0).numpy(), rtol=1e-6)

    TinyGenerator.data_shape = (2,)
    with pytest.raises(DataError, match="not images"):
        load_source(run_dir, Projection(), 10, make_registry(), "cpu")


def test_statistics_written_by_stats_are_a_valid_source(tmp_path):
    stats = StreamingStats(6).update(np.random.default_rng(0).normal(size=(20, 6)))
    stats.save_npz(tmp_path / "s.npz")
    fs = load_source(tmp_path / "s.npz", Projection(), 10, make_registry(), "cpu")
    assert fs.n == 20 and fs.meta["source_kind"] == "npz"
    with pytest.raises(MetricError, match="6-d statistics, the extractor gives 9-d"):
        load_source(Path(tmp_path / "s.npz"), Projection(9), 10, make_registry(), "cpu")
