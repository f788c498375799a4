"""Class-conditional variants: labels from the data, fake labels drawn as declared, checkpoints that remember their
classes, sampling a chosen class from the API and the CLI, and the errors around them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import labelled_blobs_plugin, make_image_folder, registry_with
from PIL import Image
from safetensors.torch import load_file

import ganzoo
from ganzoo.engine.config import TrainConfig
from ganzoo.engine.loop import Trainer
from ganzoo.engine.rundir import RunDir

CONDITIONAL = ["cgan", "acgan", "cgan-pd"]


@pytest.fixture(scope="module")
def registry():
    return registry_with(labelled_blobs_plugin())


def _train(registry, out: Path, variant: str = "cgan", **options) -> ganzoo.engine.RunDir:
    options = {"dataset": "blobs", "steps": 3, "batch_size": 8, "device": "cpu", "fid_every": 0,
               "sample_every": 1, "checkpoint_every": 1, **options}
    return ganzoo.train(variant, out, registry=registry, **options)


@pytest.mark.parametrize("variant", CONDITIONAL)
def test_conditional_variants_train_and_remember_their_classes(registry, tmp_path, variant):
    run = _train(registry, tmp_path / "run", variant)
    loaded = ganzoo.load(run.root, registry=registry)
    assert loaded.num_classes == 3 and loaded.class_names == ("blob0", "blob1", "blob2")
    grid = Image.open(run.list_samples()[-1][1])
    assert grid.height == 2 * 3 * (32 + 4)  # one row per class: 32 px and its padding, drawn at twice the size
    x = ganzoo.sample(loaded, 6, labels=[0, 1, 2, 0, 1, 2])
    assert x.shape == (6, 1, 32, 32)
    same_noise = ganzoo.sample(loaded, 4, seed=5, labels=1)
    assert torch.equal(same_noise, ganzoo.sample(loaded, 4, seed=5, labels=torch.tensor([1, 1, 1, 1])))


def test_real_labels_come_from_the_data_and_fake_labels_as_declared(registry, tmp_path):
    config = TrainConfig("cgan", dataset="blobs", steps=1, batch_size=8, device="cpu", fid_every=0)
    trainer = Trainer(config, RunDir(tmp_path), registry)
    images, labels = trainer._real_batch(0)
    rows = trainer.batches.indices(0)
    assert torch.equal(labels, trainer.data.labels[rows])
    draws = torch.cat([trainer._fake_labels() for _ in range(200)])
    assert set(draws.tolist()) == {0, 1, 2}
    assert torch.bincount(draws).min() > 400  # uniform: about 533 of each

    import dataclasses

    skewed = dataclasses.replace(registry.variant("cgan"), name="cgan-data", fake_labels="data")
    registry.add(skewed, "test")
    data = trainer.data
    only_two = dataclasses.replace(data, labels=data.labels.clamp(max=1))  # classes 0 and 1 only
    trainer2 = Trainer(dataclasses.replace(config, variant="cgan-data"), RunDir(tmp_path / "b"), registry)
    trainer2.label_weights = torch.bincount(only_two.labels, minlength=3).double()
    assert set(torch.cat([trainer2._fake_labels() for _ in range(50)]).tolist()) == {0, 1}


def test_a_conditional_run_resumes_bitwise(registry, tmp_path):
    straight = _train(registry, tmp_path / "straight", "cgan-pd", steps=4)
    _train(registry, tmp_path / "resumed", "cgan-pd", steps=2)
    ganzoo.train("cgan-pd", tmp_path / "resumed", resume=True, registry=registry, steps=4)
    a = load_file(str(straight.list_checkpoints()[-1][1]))
    b = load_file(str(RunDir(tmp_path / "resumed").list_checkpoints()[-1][1]))
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_a_conditional_variant_on_unlabelled_data_is_one_clear_error(tmp_path):
    folder = make_image_folder(tmp_path / "images", n=24, size=32)
    with pytest.raises(ganzoo.ConfigError, match="class-conditional and needs labelled data"):
        ganzoo.train("cgan", tmp_path / "run", dataset=f"folder:{folder}", steps=1, batch_size=8, device="cpu")
    assert not (tmp_path / "run").exists()


def test_sampling_labels_are_checked(registry, tmp_path):
    loaded = ganzoo.load(_train(registry, tmp_path / "run").root, registry=registry)
    with pytest.raises(ganzoo.ConfigError, match="class 3 is out of range: this run has classes 0-2"):
        ganzoo.sample(loaded, 2, labels=3)
    with pytest.raises(ganzoo.ConfigError, match="2 class labels for 3 samples"):
        ganzoo.sample(loaded, 3, labels=[0, 1])
    with pytest.raises(ganzoo.ConfigError, match="integers"):
        ganzoo.sample(loaded, 2, labels=0.5)
    plain = ganzoo.load(ganzoo.train("gan", tmp_path / "plain", dataset="ring8", steps=1, batch_size=8,
                                     device="cpu").root)
    with pytest.raises(ganzoo.ConfigError, match="unconditional"):
        ganzoo.sample(plain, 2, labels=1)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> tuple[Path, dict]:
    """A conditional run trained through the CLI with the blobs plugin installed as a package would be."""
    import os
    import subprocess
    import sys

    from helpers import make_distribution

    site = tmp_path_factory.mktemp("site")
    source = Path(__file__).with_name("helpers.py").read_text()
    make_distribution(site, "ganzoo-blobs", "0.1", {"blobs": "ganzoo_blobs"},
                      {"ganzoo_blobs": source + "\n_plugin = labelled_blobs_plugin()\n"
                       "ganzoo_register_datasets = _plugin.ganzoo_register_datasets\n"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
           "OMP_NUM_THREADS": "1"}
    run = tmp_path_factory.mktemp("cli") / "run"
    done = subprocess.run([sys.executable, "-m", "ganzoo", "train", "cgan", "--dataset", "blobs", "--steps", "2",
                           "--batch-size", "8", "--out", str(run), "-q"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return run, env


def _ganzoo(env: dict, *args: str):
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "ganzoo", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_cli_samples_one_class_or_one_row_per_class(cli_run, tmp_path):
    run, env = cli_run
    sevens = tmp_path / "ones.png"
    done = _ganzoo(env, "sample", str(run), "--class", "1", "-n", "16", "-o", str(sevens))
    assert done.returncode == 0, done.stderr
    assert "class blob1" in done.stdout and sevens.is_file()
    by_name = _ganzoo(env, "sample", str(run), "--class", "blob2", "-n", "4", "-o", str(tmp_path / "named.png"))
    assert by_name.returncode == 0, by_name.stderr
    grid = tmp_path / "grid.png"
    done = _ganzoo(env, "sample", str(run), "--per-class", "4", "-o", str(grid))
    assert done.returncode == 0, done.stderr
    assert Image.open(grid).height == 2 * 3 * (32 + 4)  # three labelled rows, drawn at twice the size


@pytest.mark.parametrize(("args", "message"), [
    (["--class", "3"], "--class 3 is out of range: this run has classes 0-2"),
    (["--class", "seven"], "neither a class index nor a class name"),
    (["--per-class", "0"], "--per-class takes a positive integer"),
    (["--per-class", "2", "--class", "1"], "cannot be combined"),
])
def test_cli_bad_class_requests_are_one_line_errors_and_write_nothing(cli_run, tmp_path, args, message):
    run, env = cli_run
    out = tmp_path / "out.png"
    done = _ganzoo(env, "sample", str(run), *args, "-o", str(out))
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_cli_class_on_an_unconditional_run_is_refused(cli_run, tmp_path):
    _, env = cli_run
    plain = tmp_path / "plain"
    assert _ganzoo(env, "train", "gan", "--dataset", "ring8", "--steps", "1", "--batch-size", "8", "--out",
                   str(plain), "-q").returncode == 0
    done = _ganzoo(env, "sample", str(plain), "--class", "1", "-o", str(tmp_path / "x.png"))
    assert done.returncode == 2 and "unconditional" in done.stderr
    assert not (tmp_path / "x.png").exists()


def test_checkpoints_record_classes_and_old_ones_load_as_unconditional(registry, tmp_path):
    run = _train(registry, tmp_path / "run")
    from safetensors import safe_open

    with safe_open(str(run.list_checkpoints()[-1][1]), "pt") as f:
        meta = f.metadata()
    assert meta["num_classes"] == "3" and json.loads(meta["class_names"]) == ["blob0", "blob1", "blob2"]
