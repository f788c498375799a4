"""Loggers as plugins (``ganzoo_register_loggers``): metrics.jsonl is one of them and unchanged by the others,
TensorBoard's event files read back with TensorBoard's own reader, W&B offline without an account, a missing extra is
one line naming the install, and a logger from an outside package plugs in like the built-ins."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_distribution, make_image_folder, pixel_stats_plugin, registry_with

import ganzoo
from ganzoo.cli import main

TIMING = ("elapsed_s", "images_per_s", "train_s", "eval_s")


@pytest.fixture(scope="module")
def registry():
    return registry_with(pixel_stats_plugin(datasets=("folder",)))


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("data") / "images", n=40)


def _train(registry, folder: Path, out: Path, **options):
    options = {"dataset": f"folder:{folder}", "steps": 3, "batch_size": 8, "image_size": 28, "z_dim": 16,
               "device": "cpu", "fid_every": 2, "fid_samples": 40, "sample_every": 2, **options}
    return ganzoo.train("dcgan", out, registry=registry, **options)


def _records(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in TIMING} for row in rows]


def test_tensorboard_shows_losses_fid_and_samples_and_metrics_jsonl_is_unchanged(registry, folder, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logged = _train(registry, folder, tmp_path / "logged", log=("tensorboard",)).root
    plain = _train(registry, folder, tmp_path / "plain").root
    assert _records(logged) == _records(plain)  # the same records, whoever else listens
    assert sorted(p.name for p in (logged / "samples").iterdir()) == ["step_000002.png", "step_000003.png"]

    events = EventAccumulator(str(logged / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert {"d_loss", "g_loss", "d_real", "d_fake", "fid", "fid/fid_n"} <= set(tags["scalars"])
    records = [json.loads(line) for line in (logged / "metrics.jsonl").read_text().splitlines()]
    for key in ("d_loss", "g_loss"):
        want = [(r["step"], r[key]) for r in records if key in r]
        assert [(e.step, e.value) for e in events.Scalars(key)] == [(s, pytest.approx(v)) for s, v in want]
    fid = [(r["step"], r["fid"]) for r in records if "fid" in r]
    assert [s for s, _ in fid] == [0, 2, 3]
    assert [(e.step, e.value) for e in events.Scalars("fid")] == [(s, pytest.approx(v)) for s, v in fid]
    images = events.Images("samples")
    assert [e.step for e in images] == [2, 3] and images[0].width == 8 * 30 + 2  # the 64-sample grid


def test_a_resume_purges_the_tensorboard_events_after_its_checkpoint(registry, folder, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = _train(registry, folder, tmp_path / "run", steps=2, checkpoint_every=2, log=("tensorboard",)).root
    ganzoo.train("dcgan", run, resume=True, registry=registry, steps=4)
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("d_loss")] == [1, 2, 3, 4]


def test_wandb_logs_offline_without_an_account(registry, folder, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    for name in ("WANDB_API_KEY", "WANDB_BASE_URL", "WANDB_ENTITY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(tmp_path / "wandb-config"))
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "wandb-cache"))
    run = _train(registry, folder, tmp_path / "run", log=("wandb",)).root
    run_id = (run / "wandb" / "run-id").read_text().strip()
    offline = list((run / "wandb").glob(f"offline-run-*-{run_id}"))
    assert len(offline) == 1
    # the run's records are in W&B's own binary log (read back by `wandb sync`); the sample grids are media files
    log = next(offline[0].glob("*.wandb")).read_bytes()
    assert all(key in log for key in (b"d_loss", b"g_loss", b"fid", b"samples"))
    grids = sorted(p.name.split("_")[1] for p in (offline[0] / "files" / "media" / "images").glob("samples_*.png"))
    assert grids == ["2", "3"]


def test_a_missing_extra_is_one_line_naming_the_install(folder, tmp_path, capsys, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "tensorboard" else real_find_spec(name, *a))
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as info:
        main(["train", "dcgan", "--dataset", f"folder:{folder}", "--steps", "1", "--log", "tensorboard",
              "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert info.value.code == 2 and len(err.splitlines()) == 1
    assert err == ("error: --log tensorboard needs tensorboard, which is not installed: "
                   "pip install 'ganzoo[tensorboard]'")
    assert not out.exists()  # refused before anything was written


def test_an_unknown_logger_suggests_the_close_one(folder, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "dcgan", "--dataset", f"folder:{folder}", "--log", "tensorbord", "--out", str(tmp_path / "r")])
    assert "unknown logger 'tensorbord'; did you mean 'tensorboard'?" in capsys.readouterr().err


CSV_LOGGER = '''
import csv
import ganzoo


class CsvLogger(ganzoo.Logger):
    def __init__(self, context):
        self.file = open(context.run.root / "losses.csv", "a", newline="")
        self.writer = csv.writer(self.file)
        self.samples = []

    def log(self, record):
        if "d_loss" in record:
            self.writer.writerow([record["step"], record["d_loss"], record["g_loss"]])

    def log_samples(self, samples, kind, step):
        self.writer.writerow(["samples", step, kind, len(samples)])

    def close(self):
        self.file.close()


@ganzoo.hookimpl
def ganzoo_register_loggers(register):
    register(ganzoo.LoggerSpec("csv", "losses as CSV rows", CsvLogger))
'''


def test_a_logger_from_an_outside_package(tmp_path):
    site = make_distribution(tmp_path / "site", "ganzoo-csvlog", "0.2.0", {"csvlog": "ganzoo_csvlog"},
                             {"ganzoo_csvlog": CSV_LOGGER})
    env = {k: v for k, v in os.environ.items() if k not in ("GANZOO_DISABLE_PLUGINS", "GANZOO_PLUGINS")}
    env.update(PYTHONPATH=str(site), OMP_NUM_THREADS="1")
    run = tmp_path / "run"
    result = subprocess.run([sys.executable, "-m", "ganzoo", "train", "gan", "--dataset", "ring8", "--steps", "2",
                             "--batch-size", "8", "--sample-every", "1", "--log", "csv", "--out", str(run), "-q"],
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = (run / "losses.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows] == ["1", "samples", "2", "samples"]
    assert rows[1] == "samples,1,points,64"
    assert json.loads((run / "config.json").read_text())["log"] == ["csv"]
    listed = subprocess.run([sys.executable, "-m", "ganzoo", "plugins"], env=env, capture_output=True, text=True,
                            timeout=300)
    assert "csvlog (ganzoo_csvlog, ganzoo-csvlog 0.2.0)" in listed.stdout and "logger: csv" in listed.stdout
