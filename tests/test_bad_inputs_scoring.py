"""Bad input to `ganzoo sample`, `fid` and `bench` found by a newcomer's walk-through: one line, exit 2, nothing
already written changed or left half-written."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import make_image_folder

import ganzoo
from ganzoo.cli import main
from ganzoo.metrics.kid import kernel_inception_distance

TINY = ["--image-size", "28", "--batch-size", "4", "--z-dim", "16"]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("scoring-inputs")
    images = make_image_folder(root / "images", n=12)
    main(["train", "dcgan", "--dataset", f"folder:{images}", *TINY, "--steps", "2", "--out", str(root / "run"),
          "-q"])
    return root / "run"


def _fails(capsys, argv: list[str], expected: str) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert info.value.code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("argv", [
    ["sample", "RUN", "--seed", "-1"],
    ["sample", "RUN", "--seed", "99999999999999999999"],
    ["bench", "--run", "RUN", "--seed", "99999999999999999999"],
    ["train", "dcgan", "--seed", "99999999999999999999"],
    ["lab", "--seed", "-2"],
])
def test_seeds_torch_cannot_take_are_usage_errors(run, capsys, argv):
    _fails(capsys, [str(run) if a == "RUN" else a for a in argv], "not in the range 0<=x<2**63")


def test_the_cli_seed_bound_is_the_training_configs():
    from ganzoo.cli.common import SEED
    from ganzoo.engine.config import MAX_SEED

    assert SEED.max == MAX_SEED and SEED.min == 0


def test_sample_counts_beyond_any_score_are_usage_errors(run, capsys):
    _fails(capsys, ["fid", str(run), str(run), "--num-samples", "99999999999999999999"], "--num-samples")
    _fails(capsys, ["bench", "--run", str(run), "--num-samples", "0"], "--num-samples")


def test_a_named_checkpoint_file_that_is_not_one_is_reported_as_that_file(tmp_path, capsys):
    garbage = tmp_path / "notst.safetensors"
    garbage.write_text("garbage")
    line = _fails(capsys, ["sample", str(garbage)], f"{garbage} is truncated, corrupt or not a safetensors file")
    assert "no loadable checkpoint in" not in line
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    _fails(capsys, ["sample", str(foreign)], f"{foreign}: not a ganzoo checkpoint (its metadata has no 'config')")


def test_fid_scores_a_checkpoint_copied_out_of_its_run(run, tmp_path):
    newest = sorted((run / "checkpoints").glob("*.safetensors"))[-1]
    loose = tmp_path / "copied.safetensors"
    shutil.copy(newest, loose)
    images = make_image_folder(tmp_path / "real", n=40, size=28)
    common = dict(extractor="pixel-stats", num_samples=40, device="cpu")
    from helpers import pixel_stats_plugin, registry_with

    registry = registry_with(pixel_stats_plugin())
    from_run = ganzoo.fid(images, newest, registry=registry, **common)
    from_copy = ganzoo.fid(images, loose, registry=registry, **common)
    assert from_copy["fid"] == from_run["fid"]


def test_save_stats_must_be_an_npz_that_fid_can_read_back(run, tmp_path, capsys):
    _fails(capsys, ["fid", str(run), str(run), "-q", "--save-stats", str(tmp_path / "stats1")], "must end in .npz")
    assert not (tmp_path / "stats1").exists()


def test_a_file_that_is_no_zip_is_not_said_to_hold_pickles(run, tmp_path, capsys):
    text = tmp_path / "text.npz"
    text.write_text("mu sigma")
    line = _fails(capsys, ["fid", str(text), str(run), "-q"], "it is not a zip archive of arrays")
    assert "pickle" not in line


def test_a_bad_image_names_the_training_option_as_a_training_option(run, tmp_path, capsys):
    folder = make_image_folder(tmp_path / "imgs", n=4, size=28)
    (folder / "broken.png").write_bytes(b"not a png")
    line = _fails(capsys, ["fid", str(folder), str(run), "-q", "--num-samples", "4"], "broken.png")
    assert "`ganzoo train --skip-bad-images`" in line


def test_kid_of_two_whole_sets_has_no_spread():
    gen = torch.Generator().manual_seed(0)
    real, fake = torch.randn(50, 8, generator=gen), torch.randn(50, 8, generator=gen) + 0.5
    mean, std = kernel_inception_distance(real, fake, subset_size=1000)
    assert std == 0.0
    # the same value the subsets' mean gave before: every subset was both whole sets
    many, _ = kernel_inception_distance(real, fake, subset_size=50, num_subsets=3)
    assert np.isclose(mean, many, rtol=1e-12)


def test_resuming_a_run_without_checkpoints_says_it_starts_over(run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "checkpoints")
    capsys.readouterr()
    main(["train", "--resume", str(copy), "--steps", "2", "-q"])
    err = capsys.readouterr().err
    assert f"{copy} has no checkpoint to resume from: training from step 0" in err
