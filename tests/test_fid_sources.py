"""``ganzoo fid`` / ``ganzoo.fid``: its rule for folders of mixed sizes (same-size folders unchanged), a dataset as a
side, and errors that name the actual problem (too few images in a folder, statistics from another extractor)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import make_image_folder, pixel_stats_plugin, registry_with
from PIL import Image

import ganzoo
from ganzoo.errors import MetricError
from ganzoo.metrics.sources import folder_plan


@pytest.fixture(scope="module")
def registry():
    return registry_with(pixel_stats_plugin())


def test_same_size_folders_are_read_as_they_are_and_mixed_ones_cropped_to_the_median(tmp_path):
    same = make_image_folder(tmp_path / "same", n=5, size=20)
    plan = folder_plan(same, 100)
    assert plan.size is None and plan.rule == "all 20x20, read as they are"
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    for i, (w, h) in enumerate([(40, 30), (30, 60), (100, 50), (16, 16), (64, 64)]):
        Image.new("RGB", (w, h), (i, 0, 0)).save(mixed / f"{i}.png")
    plan = folder_plan(mixed, 100)
    assert plan.size == 30 and plan.mode == "RGB"  # shorter sides 30, 30, 50, 16, 64: the median is 30
    assert "center-cropped to 30x30" in plan.rule


def test_a_mixed_folder_scores_and_says_its_rule(registry, tmp_path):
    mixed = tmp_path / "mixed"
    rng = np.random.default_rng(0)
    mixed.mkdir()
    for i in range(12):
        w, h = int(rng.integers(20, 60)), int(rng.integers(20, 60))
        Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8)).save(mixed / f"{i}.png")
    result = ganzoo.fid(mixed, make_image_folder(tmp_path / "b", n=12), extractor="pixel-stats", registry=registry,
                        device="cpu")
    assert result["fid"] > 0
    assert result["sources"]["a"]["preprocessing"].startswith("mixed sizes: each resized on its shorter side")
    assert result["sources"]["b"]["preprocessing"] == "all 28x28, read as they are"


def test_a_dataset_is_a_side(registry, tmp_path):
    folder = make_image_folder(tmp_path / "digits", n=30)
    result = ganzoo.fid("mnist:test", folder, extractor="pixel-stats", num_samples=30, registry=registry,
                        device="cpu")
    assert result["sources"]["a"]["kind"] == "dataset" and result["num_real"] == 30
    assert result["sources"]["a"]["preprocessing"] == "32x32, the test split"
    again = ganzoo.fid("mnist", folder, extractor="pixel-stats", num_samples=30, registry=registry, device="cpu",
                       image_size=28)
    assert again["sources"]["a"]["preprocessing"] == "28x28, the test split" and again["fid"] != result["fid"]


def test_too_small_a_folder_says_so(registry, tmp_path):
    few = make_image_folder(tmp_path / "few", n=6)
    many = make_image_folder(tmp_path / "many", n=20)
    with pytest.raises(MetricError) as info:
        ganzoo.fid(many, few, extractor="pixel-stats", registry=registry, device="cpu")
    assert str(info.value) == (f"image folder {few} holds 6 images, too few for FID with the 8-d features of "
                               "'pixel-stats' (it needs more images than feature dimensions)")
    assert "--num-samples" not in str(info.value)


def test_statistics_from_another_extractor_name_the_mismatch(registry, tmp_path):
    many = make_image_folder(tmp_path / "many", n=20)
    stats = tmp_path / "other.npz"
    np.savez(stats, mu=np.zeros(4), sigma=np.eye(4), n=np.int64(5), format=np.asarray("ganzoo-features-1"),
             meta=np.asarray(json.dumps({"extractor": "mnist-classifier"})))
    with pytest.raises(MetricError) as info:
        ganzoo.fid(stats, many, extractor="pixel-stats", registry=registry, device="cpu")
    assert str(info.value) == (f"{stats} holds 4-d statistics (it was made with --extractor mnist-classifier), but "
                               "extractor 'pixel-stats' gives 8-d features; compare statistics made by the same "
                               "extractor")


def test_the_text_output_labels_what_it_shows(registry, tmp_path, capsys, monkeypatch):
    from ganzoo.cli import main

    monkeypatch.setattr("ganzoo.cli.scoring.load_registry", lambda: registry)
    a, b = make_image_folder(tmp_path / "a", n=20), make_image_folder(tmp_path / "b", n=20, seed=1)
    main(["fid", str(a), str(b), "--extractor", "pixel-stats", "--device", "cpu", "-q"])
    out = capsys.readouterr().out
    assert f"A: {a} (folder, n=20; all 28x28, read as they are)" in out
    assert "kid: " in out and "(subsets of 20;" in out
    assert "inception score of B alone: " in out
    assert "precision: " in out and "recall: " in out


def test_fid_says_what_it_extracts_and_shows_progress(registry, tmp_path, capsys, monkeypatch):
    from ganzoo.cli import main

    monkeypatch.setattr("ganzoo.cli.scoring.load_registry", lambda: registry)
    a, b = make_image_folder(tmp_path / "a", n=20), make_image_folder(tmp_path / "b", n=20, seed=1)
    main(["fid", str(a), str(b), "--extractor", "pixel-stats", "--device", "cpu"])
    err = capsys.readouterr().err
    assert "extracting pixel-stats features of up to 10000 images per side" in err
    assert err.count("/20 [") >= 2 and "img/s" in err  # a bar for each side, with its count and rate
