"""Crash-safe, bitwise resume: `ganzoo train` killed with SIGKILL and resumed ends with exactly the weights, optimizer
state, RNG state, metrics and sample grids of an uninterrupted run with the same seed (CPU, one thread)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganzoo.cli import main
from ganzoo.engine.rundir import RunDir, RunLock
from ganzoo.errors import ConfigError

STEPS = 6
TINY = ["--image-size", "28", "--batch-size", "4", "--z-dim", "16"]
# checkpoints every 2 steps, so a kill at step 3 lands between checkpoints and one at step 4 exactly on one
# --lr-decay 0.5: the learning rates fall over steps 3-6, so the killed runs resume in the middle of the schedule
OPTIONS = ["--image-size", "28", "--batch-size", "4", "--z-dim", "16", "--ema-decay", "0.9", "--seed", "3",
           "--lr-decay", "0.5", "--checkpoint-every", "2", "--sample-every", "1", "--keep-checkpoints", "2", "-q"]

# Runs `ganzoo train ...` (argv) in a fresh interpreter and kills it with SIGKILL at a chosen point of a chosen step.
KILLER = '''
import os, signal, sys, time
from pathlib import Path

from ganzoo.engine import checkpoint, loop

mode, step = os.environ["KILL_MODE"], int(os.environ["KILL_STEP"])


def die():
    os.kill(os.getpid(), signal.SIGKILL)


if mode == "wait":  # after step's record and grid are written; the test sends SIGKILL once the marker appears
    save_samples = loop.Trainer.save_samples

    def patched(self):
        path = save_samples(self)
        if self.step == step:
            Path(os.environ["KILL_MARKER"]).write_text(str(os.getpid()))
            time.sleep(600)
        return path

    loop.Trainer.save_samples = patched
elif mode == "after_checkpoint":  # dies the moment checkpoint `step` is complete
    save = loop.Trainer.save_checkpoint

    def patched(self):
        path = save(self)
        if self.step == step:
            die()
        return path

    loop.Trainer.save_checkpoint = patched
elif mode == "mid_checkpoint":  # dies half way through writing checkpoint `step` (a torn temporary file)
    save_file = checkpoint.save_file

    def patched(tensors, filename, metadata=None):
        save_file(tensors, filename, metadata=metadata)
        if metadata is not None and metadata.get("step") == str(step):
            size = os.path.getsize(filename)
            os.truncate(filename, size // 2)
            die()

    checkpoint.save_file = patched

from ganzoo.cli import main

main(sys.argv[1:])
'''


@pytest.fixture(autouse=True)
def _one_thread():
    # bitwise identity needs the same kernels, hence the same thread count, in this process and the subprocess
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import make_image_folder

    return make_image_folder(tmp_path_factory.mktemp("resume") / "images", n=24)


@pytest.fixture(scope="module")
def reference(images: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted run everything is compared with."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("reference") / "run"
        main(["train", "dcgan", "--dataset", f"folder:{images}", *OPTIONS, "--steps", str(STEPS), "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="module")
def killed(images: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.Popen, Path]]:
    """Three `ganzoo train` subprocesses, started together (they spend most of their time importing torch)."""
    procs = {}
    for mode, step in (("wait", 3), ("after_checkpoint", 4), ("mid_checkpoint", 4)):
        folder = tmp_path_factory.mktemp(mode)
        script = folder / "killer.py"
        script.write_text(KILLER)
        env = dict(os.environ)
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONUNBUFFERED="1", KILL_MODE=mode,
                   KILL_STEP=str(step), KILL_MARKER=str(folder / "marker"))
        args = ["train", "dcgan", "--dataset", f"folder:{images}", *OPTIONS, "--steps", str(STEPS), "--out",
                str(folder / "run")]
        procs[mode] = (subprocess.Popen([sys.executable, str(script), *args], env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True), folder)
    yield procs
    for proc, _ in procs.values():
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _losses(run: Path) -> list[tuple[int, float, float, float, float]]:
    records = RunDir(run).read_metrics()
    return [(r["step"], r["d_loss"], r["g_loss"], r["d_real"], r["d_fake"]) for r in records]


def assert_same_run(run: Path, reference: Path) -> None:
    """Final checkpoint (every tensor: G, D, EMA, both optimizers, RNGs), metrics and grids are identical."""
    final = f"checkpoints/step_{STEPS:08d}.safetensors"
    got, want = load_file(str(run / final)), load_file(str(reference / final))
    assert sorted(got) == sorted(want)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=0, msg=name)
    assert _losses(run) == _losses(reference)
    grids = sorted(p.name for p in (reference / "samples").iterdir())
    assert sorted(p.name for p in (run / "samples").iterdir()) == grids
    for name in grids:
        assert (run / "samples" / name).read_bytes() == (reference / "samples" / name).read_bytes(), name
    assert sorted(p.name for p in (run / "checkpoints").iterdir() if not p.name.endswith(".bad")) == sorted(
        p.name for p in (reference / "checkpoints").iterdir())
    assert not (run / ".lock").exists()


def test_sigkill_between_checkpoints_then_resume_is_bitwise_identical(killed, reference, capsys):
    """Killed from outside after step 3 (checkpoint 2 on disk, metrics and a grid of step 3 too); meanwhile a
    second trainer is refused; after the kill its lock file is stale and `--resume` takes it over."""
    proc, folder = killed["wait"]
    run = folder / "run"
    try:
        deadline = time.monotonic() + 240
        while not (folder / "marker").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the training subprocess never reached step 3"
            time.sleep(0.05)
        # the directory is in use: a second process is refused, naming the owner's pid, and changes nothing
        before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
        with pytest.raises(SystemExit) as exit_info:
            main(["train", "--resume", str(run), "-q"])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err == (f"error: run directory {run} is in use by process {proc.pid}; wait for it to finish or "
                       "stop it")
        assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == before
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert (run / ".lock").read_text().strip() == str(proc.pid)  # stale lock of a dead process
    assert [s for s, _ in RunDir(run).list_checkpoints()] == [2]
    assert [r[0] for r in _losses(run)] == [1, 2, 3]  # past the checkpoint: dropped on resume
    assert [s for s, _ in RunDir(run).list_samples()] == [1, 2, 3]

    main(["train", "--resume", str(run), "-q"])
    assert_same_run(run, reference)


@pytest.mark.parametrize("mode, expect_checkpoints", [
    ("after_checkpoint", [2, 4]),  # killed exactly at a checkpoint: resume starts from it
    ("mid_checkpoint", [2]),  # killed while writing checkpoint 4: only a torn temporary file exists
])
def test_sigkill_at_or_inside_a_checkpoint_then_resume_is_bitwise_identical(killed, reference, capsys, mode,
                                                                           expect_checkpoints):
    proc, folder = killed[mode]
    run = folder / "run"
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == -signal.SIGKILL, err
    assert [s for s, _ in RunDir(run).list_checkpoints()] == expect_checkpoints
    temporaries = list((run / "checkpoints").glob(".*.tmp"))
    assert len(temporaries) == (1 if mode == "mid_checkpoint" else 0)

    main(["train", "--resume", str(run), "-q"])
    assert capsys.readouterr().err == ""  # nothing was wrong with any checkpoint: no warnings
    assert not list((run / "checkpoints").glob(".*.tmp"))  # the dead process's temporary is cleaned up
    assert_same_run(run, reference)


def test_resume_of_a_finished_run_with_more_steps_matches_a_longer_run(tmp_path, images):
    """Stopping at step 3 and resuming with --steps 6 equals one 6-step run (the final step's extra checkpoint
    and grid at step 3 aside), so the 'last step' special case does not disturb the state. Constant learning
    rates: a decay schedule spans the run's length, so lengthening a run changes it (tested in test_lr_decay.py)."""
    short, long = tmp_path / "short", tmp_path / "long"
    base = ["train", "dcgan", "--dataset", f"folder:{images}", *TINY, "--ema-decay", "0.5", "--lr-decay", "0",
            "--checkpoint-every",
            "3", "--sample-every", "3", "-q"]
    main([*base, "--steps", "3", "--out", str(short)])
    main(["train", "--resume", str(short), "--steps", "6", "-q"])
    main([*base, "--steps", "6", "--out", str(long)])
    got = load_file(str(short / "checkpoints/step_00000006.safetensors"))
    want = load_file(str(long / "checkpoints/step_00000006.safetensors"))
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=0, msg=name)
    assert json.loads((short / "config.json").read_text())["steps"] == 6  # the new target is recorded


def test_resume_before_the_first_checkpoint_starts_again_from_step_zero(tmp_path, images):
    run = tmp_path / "run"
    base = ["train", "dcgan", "--dataset", f"folder:{images}", *TINY, "-q"]
    main([*base, "--steps", "2", "--out", str(run), "--checkpoint-every", "5"])
    first = load_file(str(run / "checkpoints/step_00000002.safetensors"))
    for path in (run / "checkpoints").iterdir():  # as if killed before any checkpoint
        path.unlink()
    main(["train", "--resume", str(run), "-q"])
    again = load_file(str(run / "checkpoints/step_00000002.safetensors"))
    for name in first:
        torch.testing.assert_close(again[name], first[name], rtol=0, atol=0, msg=name)
    assert [r["step"] for r in RunDir(run).read_metrics()] == [1, 2]


def test_keep_checkpoints_keeps_only_the_newest(tmp_path, images):
    run = tmp_path / "run"
    main(["train", "dcgan", "--dataset", f"folder:{images}", *TINY, "--steps", "5",
          "--checkpoint-every", "1", "--keep-checkpoints", "2", "--out", str(run), "-q"])
    assert [s for s, _ in RunDir(run).list_checkpoints()] == [4, 5]


def test_a_live_lock_is_refused_and_a_stale_one_taken_over(tmp_path):
    run = RunDir(tmp_path)
    with RunLock(run):
        assert run.lock.read_text().strip() == str(os.getpid())
        with pytest.raises(ConfigError, match=f"in use by process {os.getpid()}"):
            RunLock(run).acquire()
    assert not run.lock.exists()

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    run.lock.write_text(f"{dead.pid}\n")  # left behind by a process that no longer exists
    with RunLock(run) as lock:
        assert lock.held and run.lock.read_text().strip() == str(os.getpid())
    assert not run.lock.exists()


def test_ctrl_c_keeps_the_last_checkpoint_releases_the_lock_and_resume_finishes(tmp_path, images, capsys,
                                                                                monkeypatch):
    from ganzoo.engine import loop

    run = tmp_path / "run"
    save_samples = loop.Trainer.save_samples

    def interrupted(self):
        if self.step == 3:
            raise KeyboardInterrupt
        return save_samples(self)

    monkeypatch.setattr(loop.Trainer, "save_samples", interrupted)
    with pytest.raises(SystemExit) as info:
        main(["train", "dcgan", "--dataset", f"folder:{images}", *TINY, "--steps", "4", "--checkpoint-every", "2",
              "--sample-every", "1", "--out", str(run), "-q"])
    assert info.value.code == 130
    assert capsys.readouterr().err.strip() == (f"interrupted; the last checkpoint, step 2, is kept: continue with "
                                               f"`ganzoo train --resume {run}`")
    assert not (run / ".lock").exists() and [s for s, _ in RunDir(run).list_checkpoints()] == [2]
    monkeypatch.setattr(loop.Trainer, "save_samples", save_samples)
    main(["train", "--resume", str(run), "-q"])
    assert [s for s, _ in RunDir(run).list_checkpoints()] == [2, 4]
    assert [r["step"] for r in RunDir(run).read_metrics()] == [1, 2, 3, 4]
