"""Data-parallel training on CPU with the gloo backend and two processes, started the way users start it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import ganzoo
from ganzoo.engine import RunDir, TrainConfig, Trainer
from ganzoo.engine.distributed import World, world_from_env
from ganzoo.errors import ConfigError
from ganzoo.plugins import get_registry

WORKER = Path(__file__).with_name("ddp_worker.py")
pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed is not built")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR",
                                                            "MASTER_PORT")}
    return {**env, "OMP_NUM_THREADS": "1"}


def _torchrun(*args: str, nproc: int = 2, timeout: int = 240) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=timeout)


def _single_process(variant: str, dataset: str, steps: int, batch: int, image_size: int | None = None) -> dict:
    torch.set_num_threads(1)
    config = TrainConfig(variant=variant, dataset=dataset, steps=steps, batch_size=batch, seed=3, device="cpu",
                         image_size=image_size)
    trainer = Trainer(config, RunDir(Path("/nonexistent/unused")), get_registry())
    while trainer.step < steps:
        trainer.train_step()
    return {f"{name}.{key}": value for name, net in (("G", trainer.G), ("D", trainer.D))
            for key, value in net.state_dict().items()}


def _ranks(out: Path) -> tuple[dict, dict]:
    return load_file(out / "rank0.safetensors"), load_file(out / "rank1.safetensors")


@pytest.mark.parametrize("variant", ["gan", "wgan-gp"])
def test_two_ranks_hold_identical_weights_equal_to_one_process_with_the_same_global_batch(tmp_path, variant):
    # on ring8 both build MLPs without batch norm, so averaging the ranks' gradients is exactly the global batch's
    # gradient; wgan-gp adds the gradient penalty's double backward through DDP and its per-sample mixing weights
    done = _torchrun(str(WORKER), str(tmp_path), variant, "ring8", "3", "16")
    assert done.returncode == 0, done.stderr[-2000:]
    rank0, rank1 = _ranks(tmp_path)
    assert rank0.keys() == rank1.keys()
    for key in rank0:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=f"ranks differ in {key}")
    single = _single_process(variant, "ring8", 3, 16)
    assert single.keys() == rank0.keys()
    for key in rank0:  # equal up to the order of float additions in the gradient average
        torch.testing.assert_close(rank0[key], single[key], rtol=1e-5, atol=1e-6, msg=f"{key} differs")


def test_a_failure_on_rank_0_alone_stops_every_rank(tmp_path):
    # the run directory cannot be created (its parent is a file): only rank 0 creates it, so only rank 0 fails there
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    run = blocker / "run"
    done = _torchrun(str(WORKER), "--train", str(run), str(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]  # the worker reports each rank's outcome instead of failing
    rank0, rank1 = ((tmp_path / f"rank{r}.txt").read_text() for r in (0, 1))
    assert "Not a directory" in rank0 or "NotADirectoryError" in rank0
    assert rank1 == "GanzooError: rank 0 could not start the run (its error says why)"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import make_image_folder

    return make_image_folder(tmp_path_factory.mktemp("ddp-images"), n=48, size=32)


def test_dcgan_two_ranks_stay_identical_and_note_per_rank_batch_norm(tmp_path, images):
    done = _torchrun(str(WORKER), str(tmp_path), "dcgan", f"folder:{images}", "2", "16", "32")
    assert done.returncode == 0, done.stderr[-2000:]
    rank0, rank1 = _ranks(tmp_path)
    params = [k for k in rank0 if "running_" not in k and "num_batches" not in k]
    for key in params:
        torch.testing.assert_close(rank0[key], rank1[key], rtol=0, atol=0, msg=f"ranks differ in {key}")
    from safetensors import safe_open

    with safe_open(tmp_path / "rank0.safetensors", "pt") as f:
        meta = f.metadata()
    assert meta["local_batch"] == "8"
    assert "per rank" in meta["notes"]


def test_torchrun_cli_writes_one_run_that_resumes_in_one_process(tmp_path):
    run = tmp_path / "run"
    done = _torchrun("-m", "ganzoo", "train", "gan", "--dataset", "ring8", "--steps", "4", "--batch-size", "16",
                     "--checkpoint-every", "2", "--sample-every", "2", "--seed", "3", "--device", "cpu", "-q",
                     "--out", str(run))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "training on 2 processes (cpu), 8 of the global batch 16 each" in done.stderr
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]  # rank 0 alone logs
    assert sorted(p.name for p in (run / "checkpoints").glob("*.safetensors"))[-1].endswith("000004.safetensors")
    assert done.stdout.count("trained in") == 1

    # continue in one process: same global batch, so the same training as a single 6-step run
    resumed = subprocess.run([sys.executable, "-m", "ganzoo", "train", "--resume", str(run), "--steps", "6", "-q"],
                             capture_output=True, text=True, env=_env(), timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    loaded = ganzoo.load(run)
    single = _single_process("gan", "ring8", 6, 16)
    for key, value in loaded.generator.state_dict().items():
        torch.testing.assert_close(value, single[f"G.{key}"], rtol=1e-5, atol=1e-6)


def test_nproc_option_launches_the_ranks_itself_and_reports_a_bad_batch_in_one_line(tmp_path):
    run = tmp_path / "run"
    base = [sys.executable, "-m", "ganzoo", "train", "gan", "--dataset", "ring8", "--steps", "2", "--device", "cpu",
            "-q", "--nproc", "2", "--out", str(run)]
    bad = subprocess.run([*base, "--batch-size", "15"], capture_output=True, text=True, env=_env(), timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.count("must be divisible by the 2 training processes") == 1  # said once, not per rank
    assert "logs are in" not in bad.stderr  # nothing but rank 0's error to look at
    assert "Traceback" not in bad.stderr and not run.exists()
    good = subprocess.run([*base, "--batch-size", "16"], capture_output=True, text=True, env=_env(), timeout=120)
    assert good.returncode == 0, good.stderr
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2

    # an error only rank 0 can see (the run is past --steps): one line from rank 0, no echo from the others
    late = subprocess.run([sys.executable, "-m", "ganzoo", "train", "--resume", str(run), "--steps", "1", "--nproc",
                           "2"], capture_output=True, text=True, env=_env(), timeout=120)
    assert late.returncode == 2
    assert [line for line in late.stderr.splitlines() if line.strip()] == [
        f"error: --steps 1 is below step 2, which the run in {run} has already reached"]


def test_world_reads_torchrun_environment_and_splits_the_global_batch(monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    world = world_from_env()
    assert world == World(1, 4, 1) and world.active and not world.is_main
    assert world.split(64) == 16
    with pytest.raises(ConfigError, match="divisible"):
        world.split(30)
    monkeypatch.setenv("RANK", "4")
    with pytest.raises(ConfigError, match="do not describe"):
        world_from_env()
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ConfigError, match="not an integer"):
        world_from_env()


def test_nproc_hands_every_train_option_to_the_ranks_unchanged(monkeypatch, tmp_path):
    from types import SimpleNamespace

    from click.testing import CliRunner

    from ganzoo import cli

    options = {"--dataset": "ring8", "--data-dir": str(tmp_path / "data dir"), "--steps": "7", "--batch-size": "16",
               "--image-size": "32", "--channels": "1", "--z-dim": "8", "--n-critic": "2", "--loss": "hinge",
               "--lr-g": "0.001", "--lr-d": "0.002", "--ema-decay": "0.9", "--lr-decay": "0.25", "--seed": "5",
               "--device": "cpu", "--amp": "bf16", "--sample-every": "3", "--checkpoint-every": "4",
               "--keep-checkpoints": "2",
               "--fid-every": "0", "--fid-extractor": "mnist-classifier", "--fid-samples": "300",
               "--init": str(tmp_path / "no run"),
               "--out": str(tmp_path / "a run"), "--log": "tensorboard,wandb", "--config": str(tmp_path / "run.toml")}
    (tmp_path / "run.toml").write_text('variant = "gan"\nreg = ["r1=3"]\n')  # the ranks read it too; flags win
    flags = ["--compile", "-q", "--reg", "r1=1", "--reg", "r2=0.5", "--skip-bad-images", "--net", "width=8",
             "--net", 'norm="none"']
    given = {opt for opt, _ in options.items()} | set(flags) | {"--nproc", "--resume", "--help"}
    # --reg and --net are repeated: the ranks must get every one
    declared = {p.opts[0] for p in cli.train.params if isinstance(p, cli.click.Option)}
    assert declared <= given, f"add {declared - given} to this test"

    launched: dict = {}
    monkeypatch.setattr("ganzoo.engine.launch.launch_local",
                        lambda nproc, argv: launched.update(nproc=nproc, argv=argv) or 0)
    args = ["train", "gan", *[x for kv in options.items() for x in kv], *flags]
    result = CliRunner().invoke(cli.cli, [*args, "--nproc", "2"])
    assert result.exit_code == 0, result.output
    assert launched["nproc"] == 2 and "--nproc" not in launched["argv"]

    trained: list[dict] = []

    def fake_train(variant, out, **kwargs):
        trained.append({"variant": variant, "out": out, **{k: v for k, v in kwargs.items()
                                                           if k not in ("registry", "events")}})
        return SimpleNamespace(samples=tmp_path, root=tmp_path)

    monkeypatch.setattr("ganzoo.train", fake_train)
    for argv in (args, launched["argv"]):
        assert CliRunner().invoke(cli.cli, argv).exit_code == 0
    assert trained[0] == trained[1]


@pytest.mark.parametrize(("body", "code"), [("pass", 0), ("sys.exit(3)", 3), ("sys.exit('no')", 1)])
def test_a_rank_leaves_with_its_exit_status_after_its_exit_handlers_without_finalising(tmp_path, body, code):
    marker = tmp_path / "handler-ran"
    script = (f"import atexit, pathlib, sys\nfrom ganzoo.engine.distributed import exit_without_finalising\n"
              f"atexit.register(pathlib.Path({str(marker)!r}).touch)\n"
              f"class Finaliser:\n    def __del__(self):\n        print('finalised')\nkept = Finaliser()\n"
              f"with exit_without_finalising():\n    print('body', flush=False)\n    {body}\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == code, done.stderr
    assert done.stdout == "body\n"  # flushed on the way out; the interpreter's finalisation never ran
    assert marker.exists()
    assert done.stderr == ("no\n" if code == 1 else "")
