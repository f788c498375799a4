"""``--config FILE`` for ``ganzoo train`` and ``ganzoo bench``: TOML keys are the options, flags override the file, a
run's own config.json repeats the run, and a bad key or value is one line naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.cli import main
from ganzoo.engine import checkpoint as ckpt

TINY = ["--image-size", "28", "--batch-size", "4", "--z-dim", "16", "-q"]


@pytest.fixture
def captured(monkeypatch):
    """``ganzoo.train``'s arguments, instead of training."""
    calls: list[dict] = []

    def fake_train(variant, out, **options):
        calls.append({"variant": variant, "out": str(out), **options})
        raise SystemExit(0)

    monkeypatch.setattr(ganzoo, "train", fake_train)
    return calls


def _train_with(tmp_path: Path, text: str, *flags: str) -> None:
    path = tmp_path / "run.toml"
    path.write_text(text)
    with pytest.raises(SystemExit):
        main(["train", "--config", str(path), *flags])


def _fails(capsys, argv: list[str], expected: str) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2, err
    assert len(err.strip().splitlines()) == 1 and expected in err, err
    return err


def test_toml_keys_are_the_options_and_flags_override_them(tmp_path, captured):
    _train_with(tmp_path, '''
variant = "dcgan"
dataset = "folder:~/faces"
image-size = 64
batch_size = 32
steps = 5000
lr-g = 1e-4
reg = ["r1=10"]
log = ["tensorboard"]
compile = true
skip-bad-images = true
out = "runs/faces"
''', "--steps", "7")
    call = captured[-1]
    assert call["variant"] == "dcgan" and call["out"] == "runs/faces" and call["dataset"] == "folder:~/faces"
    assert call["image_size"] == 64 and call["batch_size"] == 32 and call["lr_g"] == 1e-4
    assert call["steps"] == 7  # the command line wins
    assert call["regularisers"] == {"r1": 10.0} and call["log"] == ("tensorboard",)
    assert call["compile"] is True and call["skip_bad_images"] is True


def test_a_flag_replaces_the_files_list(tmp_path, captured):
    _train_with(tmp_path, 'variant = "wgan-gp"\nreg = ["r1=10"]\nlog = "tensorboard,wandb"\n', "--reg", "none",
                "--log", "wandb")
    assert captured[-1]["regularisers"] == {} and captured[-1]["log"] == ("wandb",)


@pytest.mark.parametrize("text, expected", [
    ("stpes = 3", "run.toml: stpes: unknown key for ganzoo train; did you mean 'steps'?"),
    ('variant = "dcgan"\nsteps = 1.5', "run.toml: steps must be an integer, got 1.5"),
    ('steps = "many"', "run.toml: steps must be an integer, got 'many'"),
    ("steps = true", "run.toml: steps must be an integer, got True"),
    ('compile = "yes"', "run.toml: compile must be true or false, got 'yes'"),
    ('amp = "fp8"', "run.toml: amp must be one of 'auto', 'off', 'bf16', 'fp16', got 'fp8'"),
    ("lr-g = [1]", "run.toml: lr-g must be a number, got [1]"),
    ("reg = [3]", "run.toml: reg[0] must be a string, got 3"),
    ("regularisers = 3", "run.toml: regularisers must be a table of regulariser names and values"),
    ('config = "other.toml"', "run.toml: config: unknown key for ganzoo train"),
    ("steps = ", "is not valid TOML"),
])
def test_bad_keys_and_values_are_one_line_naming_the_key(tmp_path, capsys, text, expected):
    path = tmp_path / "run.toml"
    path.write_text(text)
    _fails(capsys, ["train", "--config", str(path)], expected.replace("run.toml", str(path)))


def test_a_missing_file_and_config_with_resume_are_refused(tmp_path, capsys):
    _fails(capsys, ["train", "--config", str(tmp_path / "none.toml")], "cannot read config file")
    (tmp_path / "run.toml").write_text('variant = "dcgan"\n')
    _fails(capsys, ["train", "--config", str(tmp_path / "run.toml"), "--resume", str(tmp_path)],
           "--config starts a new run; --resume continues one")


def test_a_runs_config_json_repeats_the_run_bit_for_bit(tmp_path, image_folder):
    first, second = tmp_path / "first", tmp_path / "second"
    main(["train", "dcgan", "--dataset", f"folder:{image_folder}", *TINY, "--steps", "2", "--seed", "5",
          "--reg", "r1=1", "--out", str(first)])
    main(["train", "--config", str(first / "config.json"), "--out", str(second), "-q"])
    a, b = (json.loads((run / "config.json").read_text()) for run in (first, second))
    assert a.pop("requested")["device"] == b.pop("requested")["device"] == "auto"
    assert a == b  # the resolved options and the data, all the same
    assert a["regularisers"] == {"r1": 1.0} and a["seed"] == 5 and a["device"] == "cpu"
    tensors = [ckpt.load_tensors(run / "checkpoints" / "step_00000002.safetensors")[0] for run in (first, second)]
    for name in tensors[0]:
        if name.startswith(("G.", "D.")):
            torch.testing.assert_close(tensors[0][name], tensors[1][name], rtol=0, atol=0)


def test_bench_takes_a_config_file(tmp_path, monkeypatch):
    import ganzoo.bench

    seen = []

    def fake_run_bench(config, **kwargs):
        seen.append(config)
        raise SystemExit(0)

    monkeypatch.setattr(ganzoo.bench, "run_bench", fake_run_bench)
    path = tmp_path / "bench.toml"
    path.write_text('names = ["dcgan"]\nsteps = 300\nnum-samples = 2100\nextractor = ["mnist-classifier"]\n'
                    'seed = 2\n')
    with pytest.raises(SystemExit):
        main(["bench", "--config", str(path), "--seed", "4"])
    config = seen[-1]
    assert config.variant == "dcgan" and config.steps == 300 and config.num_samples == 2100
    assert config.extractors == ("mnist-classifier",) and config.seed == 4
