"""End to end on CPU: `ganzoo train` writes a complete run directory; resume continues; runs are reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from click.testing import CliRunner
from safetensors import safe_open

import ganzoo
from ganzoo.cli import cli


def _train(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["train", *args, "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_train_writes_a_complete_run_directory(tmp_path: Path, image_folder: Path):
    run = tmp_path / "run"
    _train(["dcgan", "--dataset", f"folder:{image_folder}", "--steps", "20", "--batch-size", "8",
            "--image-size", "32", "--sample-every", "10", "--checkpoint-every", "10", "--out", str(run)])
    config = json.loads((run / "config.json").read_text())
    assert config["variant"] == "dcgan" and config["steps"] == 20 and config["loss"] == "non_saturating"
    assert config["lr_g"] == 5e-4 and config["ema_decay"] == 0.9995  # resolved from the variant's defaults
    assert config["network"] == {"g_width": 64}
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step_00000010.safetensors", "step_00000020.safetensors"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_000010.png", "step_000020.png"]
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 21))
    assert all({"d_loss", "g_loss", "images_per_s"} <= set(r) for r in records)
    assert (run / "losses.png").stat().st_size > 0
    assert not (run / ".lock").exists()

    with safe_open(str(run / "checkpoints" / "step_00000020.safetensors"), "pt") as fh:
        meta = fh.metadata()
        keys = set(fh.keys())
    assert meta["variant"] == "dcgan" and meta["step"] == "20" and meta["ganzoo_version"] == ganzoo.__version__
    assert {"rng.torch", "rng.numpy", "rng.python"} <= keys
    assert any(k.startswith("G_ema.") for k in keys) and any(k.startswith("opt_d.") for k in keys)

    loaded = ganzoo.load(run)
    assert loaded.step == 20 and loaded.ema_generator is not None
    samples = ganzoo.sample(loaded, 5, seed=1)
    assert samples.shape == (5, 1, 32, 32) and samples.abs().max() <= 1
    torch.testing.assert_close(samples, ganzoo.sample(loaded, 5, seed=1))


def test_resume_continues_from_the_checkpoint_step(tmp_path: Path, image_folder: Path):
    run = tmp_path / "run"
    common = ["--dataset", f"folder:{image_folder}", "--batch-size", "8", "--image-size", "28",
              "--checkpoint-every", "5", "--sample-every", "5"]
    _train(["gan", *common, "--steps", "10", "--out", str(run)])
    _train(["--resume", str(run), "--steps", "15"])
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == list(range(1, 16))
    assert ganzoo.load(run).step == 15


def test_same_seed_gives_identical_weights(tmp_path: Path, image_folder: Path):
    weights = []
    for name in ("a", "b"):
        ganzoo.train("dcgan", tmp_path / name, dataset=f"folder:{image_folder}", steps=3, batch_size=8,
                     image_size=32, seed=7)
        weights.append(ganzoo.load(tmp_path / name).generator.state_dict())
    for key in weights[0]:
        torch.testing.assert_close(weights[0][key], weights[1][key], rtol=0, atol=0)
