"""FID while training: records in metrics.jsonl at the right steps, against the training split, a plot, no effect
on the weights, no duplicates after a resume, and the defaults and errors of the options."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import make_image_folder, pixel_stats_plugin, registry_with
from safetensors.torch import load_file

import ganzoo
from ganzoo.engine.config import TrainConfig, resolve
from ganzoo.errors import ConfigError


@pytest.fixture(scope="module")
def registry():
    return registry_with(pixel_stats_plugin(datasets=("folder",)))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("data") / "images", n=64)


def _fid_rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [r for r in rows if "fid" in r]


def _train(registry, folder: Path, out: Path, **options):
    options = {"dataset": f"folder:{folder}", "steps": 6, "batch_size": 8, "device": "cpu", **options}
    return ganzoo.train("dcgan", out, registry=registry, **options)


def test_fid_is_tracked_every_k_steps_and_plotted(registry, folder, tmp_path):
    run = _train(registry, folder, tmp_path / "run", fid_every=4, fid_samples=40)
    rows = _fid_rows(run.root)
    assert [r["step"] for r in rows] == [0, 4, 6]  # the untrained start, every 4th step, the last step
    assert all(r["extractor"] == "pixel-stats" and r["fid_n"] == 40 and r["fid"] >= 0 for r in rows)
    assert rows[0]["train_s"] == 0 and rows[1]["train_s"] < rows[2]["train_s"]
    assert (run.root / "fid.png").is_file()
    config = json.loads((run.root / "config.json").read_text())
    assert (config["fid_every"], config["fid_extractor"], config["fid_samples"]) == (4, "pixel-stats", 40)


def test_tracking_changes_nothing_in_training(registry, folder, tmp_path):
    tracked = _train(registry, folder, tmp_path / "tracked", fid_every=2, fid_samples=40)
    plain = _train(registry, folder, tmp_path / "plain", fid_every=0)
    a = load_file(str(tracked.list_checkpoints()[-1][1]))
    b = load_file(str(plain.list_checkpoints()[-1][1]))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)
    assert _fid_rows(plain.root) == []


def test_a_resumed_run_tracks_from_where_it_stopped(registry, folder, tmp_path):
    out = tmp_path / "run"
    _train(registry, folder, out, steps=4, fid_every=2, fid_samples=40, checkpoint_every=2)
    ganzoo.train("dcgan", out, resume=True, registry=registry, steps=6)
    rows = _fid_rows(out)
    assert [r["step"] for r in rows] == [0, 2, 4, 6]
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
             if "d_loss" in json.loads(line)]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert rows[-1]["train_s"] > rows[-2]["train_s"]  # training time carries over through the checkpoint


def test_tracking_defaults(registry, folder):
    resolved = resolve(TrainConfig("dcgan", dataset=f"folder:{folder}", steps=400), registry)
    assert (resolved.fid_every, resolved.fid_extractor, resolved.fid_samples) == (20, "pixel-stats", 2048)
    points = resolve(TrainConfig("gan", dataset="ring8"), registry)
    assert points.fid_every == 0 and points.fid_extractor is None
    mnist = resolve(TrainConfig("dcgan", steps=1000), ganzoo_registry())
    assert (mnist.fid_every, mnist.fid_extractor) == (50, "mnist-classifier")
    assert resolve(mnist, ganzoo_registry()) == mnist


def ganzoo_registry():
    from ganzoo.plugins import get_registry

    return get_registry()


@pytest.mark.parametrize(("options", "message"), [
    ({"dataset": "ring8", "variant": "gan", "fid_every": 5}, "point data"),
    ({"fid_extractor": "nope"}, "unknown extractor"),
    ({"fid_extractor": "pixel-stats", "fid_samples": 8}, "must exceed the 8-d features"),
])
def test_tracking_options_are_checked(registry, folder, options, message):
    variant = options.pop("variant", "dcgan")
    options.setdefault("dataset", f"folder:{folder}")
    with pytest.raises(ganzoo.GanzooError, match=message):
        resolve(TrainConfig(variant, **options), registry)


def test_asking_for_tracking_without_an_extractor_for_the_dataset_is_an_error(folder):
    with pytest.raises(ConfigError, match="no feature extractor is registered for dataset"):
        resolve(TrainConfig("dcgan", dataset=f"folder:{folder}", fid_every=5), ganzoo_registry())
    quiet = resolve(TrainConfig("dcgan", dataset=f"folder:{folder}"), ganzoo_registry())
    assert quiet.fid_every == 0  # by default tracking simply stays off there
