"""Checkpoints: atomic writes, verification on load (sizes, names, shapes, checksums), fallback past a bad newest
checkpoint without losing it, and training that stops at the first non-finite loss or weight."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import ganzoo
from ganzoo.cli import main
from ganzoo.engine import RunDir, TrainingDiverged
from ganzoo.engine import checkpoint as ckpt
from ganzoo.errors import CheckpointError

TINY = ["--image-size", "28", "--batch-size", "4", "--z-dim", "16"]


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import make_image_folder

    return make_image_folder(tmp_path_factory.mktemp("ckpt") / "images", n=16)


def _train(images: Path, out: Path, *extra: str, steps: int = 4) -> Path:
    main(["train", "dcgan", "--dataset", f"folder:{images}", *TINY, "--steps", str(steps), "--checkpoint-every", "2",
          "--out", str(out), "-q", *extra])
    return out


def _error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


# --- atomic writes ------------------------------------------------------------------------------------------------

def test_atomic_write_fsyncs_the_file_then_renames_then_fsyncs_the_folder(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (calls.append(("fsync", os.path.realpath(f"/proc/self/fd/{fd}"))),
                                                 real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append(("replace", str(b))), real_replace(a, b))[1])
    target = tmp_path / "file.bin"
    ckpt.atomic_write(target, lambda tmp: Path(tmp).write_bytes(b"new"))
    assert [c[0] for c in calls] == ["fsync", "replace", "fsync"]
    assert calls[0][1].endswith(".tmp") and calls[1][1] == str(target) and calls[2][1] == str(tmp_path)
    assert target.read_bytes() == b"new"
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # not mkstemp's private mode


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")

    def half_then_crash(tmp: str) -> None:
        Path(tmp).write_bytes(b"ne")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        ckpt.atomic_write(target, half_then_crash)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin"]


# --- verification on load -----------------------------------------------------------------------------------------

def _saved(tmp_path: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    tensors = {"G.w": torch.arange(12.0).view(3, 4), "G.b": torch.ones(4), "rng.x": torch.arange(5, dtype=torch.uint8)}
    path = tmp_path / "step_00000001.safetensors"
    ckpt.save_tensors(path, tensors, {"variant": "dcgan", "step": "1"})
    return path, tensors


def test_save_and_load_round_trip_with_checksums(tmp_path):
    path, tensors = _saved(tmp_path)
    loaded, meta = ckpt.load_tensors(path)
    assert meta["format"] == ckpt.FORMAT and len(meta["sha256"]) == len(meta["meta_sha256"]) == 64
    assert sorted(loaded) == sorted(tensors)
    for name, value in tensors.items():
        torch.testing.assert_close(loaded[name], value, rtol=0, atol=0)


def _flip_last_tensor_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def _rewrite(path: Path, change) -> None:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as fh:
        meta = dict(fh.metadata())
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 - safe_open has no __iter__
    change(tensors, meta)
    save_file(tensors, str(path), metadata=meta)


@pytest.mark.parametrize("damage, message", [
    (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "truncated, corrupt or not a safetensors file"),
    (lambda p: p.write_bytes(p.read_bytes()[:-3]), "truncated, corrupt"),
    (lambda p: p.write_bytes(b""), "truncated, corrupt or not a safetensors file"),
    (lambda p: p.write_bytes(os.urandom(300)), "truncated, corrupt or not a safetensors file"),
    (_flip_last_tensor_byte, "checksum does not match its tensors"),
    (lambda p: _rewrite(p, lambda t, m: m.update(step="7")), "checksum does not match its metadata"),
    (lambda p: _rewrite(p, lambda t, m: t.update({"G.b": torch.zeros(4)})), "checksum does not match its tensors"),
    (lambda p: _rewrite(p, lambda t, m: m.pop("sha256")), "checksum is missing"),
], ids=["half", "last-bytes", "empty", "random", "bit-flip", "metadata-edit", "tensor-swap", "no-checksum"])
def test_damaged_files_are_refused_with_one_line_naming_the_file(tmp_path, damage, message):
    path, _ = _saved(tmp_path)
    damage(path)
    with pytest.raises(CheckpointError, match=message) as info:
        ckpt.load_tensors(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_a_safetensors_file_from_elsewhere_is_read_but_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.ones(2)}, str(path))
    tensors, meta = ckpt.load_tensors(path)  # nothing to verify it against, but it parses
    torch.testing.assert_close(tensors["w"], torch.ones(2))
    with pytest.raises(CheckpointError, match="not a ganzoo checkpoint"):
        ckpt.read_checkpoint(path)


def test_module_names_and_shapes_are_checked_against_the_network(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    good = ckpt.module_tensors("G", net)
    with pytest.raises(CheckpointError, match=r"G does not match this network \(missing 0.bias\)"):
        ckpt.load_module("G", net, {k: v for k, v in good.items() if not k.endswith("bias")}, tmp_path)
    with pytest.raises(CheckpointError, match=r"G.0.weight has shape \(2, 4\), the network expects \(2, 3\)"):
        ckpt.load_module("G", net, {**good, "G.0.weight": torch.zeros(2, 4)}, tmp_path)


def test_optimizer_state_of_the_wrong_shape_is_refused():
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(net.parameters())
    net(torch.ones(1, 3)).sum().backward()
    opt.step()
    tensors, meta = ckpt.optimizer_tensors("opt", opt)
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    ckpt.load_optimizer("opt", fresh, tensors, meta)  # fits
    torch.testing.assert_close(fresh.state_dict()["state"][0]["exp_avg"], opt.state_dict()["state"][0]["exp_avg"])
    wrong = torch.optim.Adam(torch.nn.Linear(4, 2).parameters())
    with pytest.raises(CheckpointError, match="optimizer state does not fit"):
        ckpt.load_optimizer("opt", wrong, tensors, meta)


def test_every_random_generator_is_restored():
    tensors, extra = ckpt.rng_state()
    first = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    ckpt.restore_rng(tensors, extra)
    again = (torch.rand(3), np.random.rand(3), [random.random() for _ in range(3)])
    torch.testing.assert_close(again[0], first[0], rtol=0, atol=0)
    np.testing.assert_array_equal(again[1], first[1])
    assert again[2] == first[2]
    with pytest.raises(CheckpointError, match="random number generator state is invalid"):
        ckpt.restore_rng({**tensors, "rng.torch": torch.zeros(3, dtype=torch.uint8)}, extra)


# --- fallback past a bad newest checkpoint -----------------------------------------------------------------------

def test_a_truncated_newest_checkpoint_is_reported_kept_and_skipped(tmp_path, images, capsys):
    run = _train(images, tmp_path / "run")
    newest = run / "checkpoints/step_00000004.safetensors"
    newest.write_bytes(newest.read_bytes()[:1000])
    damaged = newest.read_bytes()
    capsys.readouterr()

    main(["train", "--resume", str(run), "--steps", "6", "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"warning: {newest}: ") or lines[0].startswith(f"warning: {newest} ")
    assert "resuming from step 2" in lines[0] and "step_00000004.safetensors.bad" in lines[0]
    assert "metrics and sample grids after step 2 are dropped and redone" in lines[0]
    assert (run / "checkpoints/step_00000004.safetensors.bad").read_bytes() == damaged  # kept, untouched
    assert [s for s, _ in RunDir(run).list_checkpoints()] == [2, 4, 6]  # 4 retrained from step 2, then 6
    assert [r["step"] for r in RunDir(run).read_metrics()] == [1, 2, 3, 4, 5, 6]


def test_several_bad_checkpoints_are_each_named_and_the_outcome_said_once(tmp_path, images, capsys):
    run = _train(images, tmp_path / "run", "--keep-checkpoints", "3", steps=6)
    for step in (4, 6):
        path = run / f"checkpoints/step_{step:08d}.safetensors"
        path.write_bytes(path.read_bytes()[:1000])
    capsys.readouterr()
    main(["train", "--resume", str(run), "--steps", "6", "-q"])
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2, lines
    assert [("step_00000006" in line, "step_00000004" in line) for line in lines] == [(True, False), (False, True)]
    assert ["dropped and redone" in line for line in lines] == [False, True]
    assert "resuming from step 2:" in lines[1]
    assert [s for s, _ in RunDir(run).list_checkpoints()] == [2, 4, 6]


def test_when_no_checkpoint_loads_resume_fails_and_changes_nothing(tmp_path, images, capsys):
    run = _train(images, tmp_path / "run")
    for _, path in RunDir(run).list_checkpoints():
        _flip_last_tensor_byte(path)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["train", "--resume", str(run), "-q"])
    assert info.value.code == 2
    line = _error_line(capsys)
    assert line.startswith(f"error: cannot resume {run}: no checkpoint loads")
    assert "step_00000004.safetensors" in line and "step_00000002.safetensors" in line
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before


# --- non-finite losses and weights --------------------------------------------------------------------------------

def _nan_loss_plugin(bad_call: int) -> ModuleType:
    """A loss that turns NaN on its ``bad_call``-th discriminator evaluation."""
    module = ModuleType(f"nan_loss_{bad_call}")
    calls = {"d": 0}

    def d_loss(real, fake):
        calls["d"] += 1
        loss = torch.nn.functional.softplus(-real).mean() + torch.nn.functional.softplus(fake).mean()
        return loss * float("nan") if calls["d"] >= bad_call else loss

    @ganzoo.hookimpl
    def ganzoo_register_losses(register):
        register(ganzoo.LossSpec("nan-later", "turns NaN", d_loss, lambda fake, real: -fake.mean()))

    module.ganzoo_register_losses = ganzoo_register_losses
    return module


def test_a_nan_loss_stops_training_naming_the_step_and_keeps_the_last_good_checkpoint(tmp_path, images):
    from helpers import registry_with

    registry = registry_with(_nan_loss_plugin(bad_call=3))
    run = tmp_path / "run"
    with pytest.raises(TrainingDiverged) as info:
        ganzoo.train("dcgan", run, registry=registry, dataset=f"folder:{images}", loss="nan-later", steps=6,
                     batch_size=4, image_size=28, z_dim=16, checkpoint_every=2)
    message = str(info.value)
    assert message.startswith("training diverged at step 3: d_loss=nan, g_loss=")
    assert "the last good checkpoint, step 2, is kept" in message
    assert [s for s, _ in RunDir(run).list_checkpoints()] == [2]
    ckpt.load_tensors(run / "checkpoints/step_00000002.safetensors")  # intact and verified
    assert [r["step"] for r in RunDir(run).read_metrics()] == [1, 2]
    assert not (run / ".lock").exists()


def test_non_finite_weights_never_reach_a_checkpoint(tmp_path, images):
    from ganzoo.engine import TrainConfig, Trainer
    from ganzoo.plugins import get_registry

    config = TrainConfig("dcgan", dataset=f"folder:{images}", steps=4, batch_size=4, image_size=28, z_dim=16)
    trainer = Trainer(config, RunDir(tmp_path / "run"), get_registry())
    trainer.train_step()
    good = trainer.save_checkpoint()
    trainer.train_step()
    with torch.no_grad():
        trainer.D.net[0].weight[0, 0, 0, 0] = float("inf")
    with pytest.raises(TrainingDiverged, match=r"at step 2: D\.net\.0\.weight is not finite; the last good "
                                               r"checkpoint, step 1, is kept"):
        trainer.save_checkpoint()
    assert [p for _, p in trainer.run_dir.list_checkpoints()] == [good]


def test_a_huge_learning_rate_ends_with_one_line_through_the_cli(tmp_path, images, capsys):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as info:
        _train(images, run, "--lr-d", "1e30", "--lr-g", "1e30", "--n-critic", "2", steps=8)
    assert info.value.code == 2
    line = _error_line(capsys)
    assert line.startswith("error: training diverged at step ") and "d_loss=" in line and "g_loss=" in line
    for _, path in RunDir(run).list_checkpoints():
        tensors, _ = ckpt.load_tensors(path)
        assert all(bool(torch.isfinite(t.float()).all()) for t in tensors.values())
    assert json.loads((run / "config.json").read_text())["lr_g"] == 1e30
