"""Latent exploration: spherical interpolation and the truncation trick in the API, ``ganzoo sample --interpolate``
strips and GIFs, ``--truncation``, ``--nrow``, and one-file-per-sample output with exactly the model's pixels (so a
folder written by ``sample`` scores as the run it came from)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import make_image_folder, pixel_stats_plugin, registry_with
from PIL import Image

import ganzoo
from ganzoo.cli import main
from ganzoo.errors import ConfigError
from ganzoo.latent import check_truncation, noise, slerp, truncate, walk


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("latent")
    images = make_image_folder(root / "images", n=16)
    main(["train", "dcgan", "--dataset", f"folder:{images}", "--image-size", "28", "--batch-size", "4", "--z-dim",
          "16", "--steps", "2", "--ema-decay", "0.9", "--out", str(root / "run"), "-q"])
    return root / "run"


def test_slerp_ends_at_both_points_and_keeps_gaussian_norms():
    a, b = noise(2, 512, seed=0)
    path = walk(a, b, 9)
    torch.testing.assert_close(path[0], a)
    torch.testing.assert_close(path[-1], b)
    norms = path.norm(dim=1)
    assert float(norms.min()) > 0.97 * min(a.norm(), b.norm())  # a straight line would dip to about 0.71
    assert float(((a + b) / 2).norm()) < 0.8 * float(norms.min())
    same_norm = walk(a, b * a.norm() / b.norm(), 9)  # between vectors of one norm, the steps are even arcs
    angles = [math.acos(float(torch.dot(same_norm[i], same_norm[i + 1]) / (same_norm[i].norm() ** 2)))
              for i in range(8)]
    assert max(angles) == pytest.approx(min(angles), rel=1e-4)
    torch.testing.assert_close(slerp(a, a, torch.tensor([0.0, 0.5, 1.0])), a.expand(3, -1))


@pytest.mark.parametrize("psi", [0, -0.5, 1.5, math.nan, math.inf, True, "0.5"])
def test_truncation_outside_0_1_is_an_error(psi):
    with pytest.raises(ConfigError, match=r"truncation psi must be a number in \(0, 1\]"):
        check_truncation(psi)


def test_truncation_scales_noise_toward_the_mean(run_dir):
    run = ganzoo.load(run_dir)
    z = noise(5, 16, seed=4)
    torch.testing.assert_close(truncate(z, 1.0), z)
    torch.testing.assert_close(truncate(z, 0.5), 0.5 * z)
    with torch.no_grad():
        expected = run.sampler(0.5 * z)
    torch.testing.assert_close(ganzoo.sample(run, 5, seed=4, truncation=0.5), expected)
    torch.testing.assert_close(ganzoo.sample(run, 5, seed=4, truncation=1.0), ganzoo.sample(run, 5, seed=4))


def test_sample_i_depends_on_seed_and_i_only(run_dir):
    run = ganzoo.load(run_dir)
    many = ganzoo.sample(run, 10, seed=3, batch_size=4)
    torch.testing.assert_close(ganzoo.sample(run, 3, seed=3, batch_size=256), many[:3])


def test_interpolation_runs_from_seed_a_to_seed_b(run_dir):
    run = ganzoo.load(run_dir)
    frames = ganzoo.interpolate(run, 3, 7, 6, truncation=0.7)
    assert frames.shape == (6, 1, 28, 28)
    torch.testing.assert_close(frames[0], ganzoo.sample(run, 1, seed=3, truncation=0.7)[0], atol=1e-5, rtol=0)
    torch.testing.assert_close(frames[-1], ganzoo.sample(run, 1, seed=7, truncation=0.7)[0], atol=1e-5, rtol=0)
    with pytest.raises(ConfigError, match="at least 2 frames"):
        ganzoo.interpolate(run, 3, 7, 1)


def test_cli_writes_a_strip_and_a_gif(run_dir, tmp_path):
    main(["sample", str(run_dir), "--interpolate", "3,7", "--frames", "5", "-o", str(tmp_path / "walk.png")])
    strip = Image.open(tmp_path / "walk.png")
    assert strip.size == (5 * 30 + 2, 30 + 2)  # one row of five 28-px frames, 2-px borders
    main(["sample", str(run_dir), "--interpolate", "3,7", "--frames", "5", "--truncation", "0.5", "-o",
          str(tmp_path / "walk.gif")])
    gif = Image.open(tmp_path / "walk.gif")
    assert gif.format == "GIF" and gif.n_frames == 5 and gif.size == (28, 28)
    main(["sample", str(run_dir), "-n", "6", "--nrow", "3", "-o", str(tmp_path / "grid.png")])
    assert Image.open(tmp_path / "grid.png").size == (3 * 30 + 2, 2 * 30 + 2)


@pytest.mark.parametrize("args, expected", [
    (["--truncation", "0"], "truncation psi must be a number in (0, 1]"),
    (["--truncation", "1.5"], "truncation psi must be a number in (0, 1]"),
    (["--interpolate", "3"], "'3' is not two non-negative seeds"),
    (["--interpolate", "a,b"], "'a,b' is not two non-negative seeds"),
    (["--frames", "4"], "--frames is for --interpolate SEED_A,SEED_B"),
    (["--interpolate", "1,2", "-n", "4"], "--interpolate draws --frames images; -n does not apply"),
    (["--interpolate", "1,2", "--frames", "1"], "--frames"),
    (["-o", "walk.gif"], "a .gif output ('walk.gif') is for --interpolate"),
    (["--interpolate", "1,2", "-o", "walk/"], "--interpolate writes one .png strip or one .gif"),
    (["--nrow", "0"], "--nrow"),
])
def test_bad_sample_options_are_one_line(run_dir, tmp_path, capsys, monkeypatch, args, expected):
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["sample", str(run_dir), *args])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1 and expected in err, err
    assert not any(tmp_path.iterdir())


def test_a_folder_written_by_sample_scores_as_its_run(run_dir, tmp_path):
    """One PNG per sample holds exactly the model's pixels (no grid border), so FID(folder) == FID(run)."""
    from ganzoo.metrics.sources import compare

    main(["sample", str(run_dir), "-n", "40", "--seed", "0", "-o", f"{tmp_path / 'generated'}/"])
    files = sorted((tmp_path / "generated").iterdir())
    assert len(files) == 40 and {Image.open(p).size for p in files} == {(28, 28)}
    expected = ganzoo.data.to_uint8_images(ganzoo.sample(ganzoo.load(run_dir), 40, seed=0))
    for i, path in enumerate(files):  # every written image holds exactly the model's pixels
        np.testing.assert_array_equal(np.asarray(Image.open(path)), expected[i, 0].numpy())

    registry = registry_with(pixel_stats_plugin())
    real = make_image_folder(tmp_path / "real", n=40, seed=1)
    from_folder = compare(real, tmp_path / "generated", "pixel-stats", 40, registry, "cpu")
    from_run = compare(real, run_dir, "pixel-stats", 40, registry, "cpu")
    # the same pixels; the statistics' float sums may round differently between the two reads (seen once in a full
    # suite run on a loaded machine: 2010.92326 vs 2010.92118)
    assert from_folder["fid"] == pytest.approx(from_run["fid"], rel=1e-5)
