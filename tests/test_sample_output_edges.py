"""``ganzoo sample`` at the edges of its output: a directory that already holds files, a number of samples beyond
memory (streamed to a directory, refused for one picture), a write that fails midway, and noise drawn per batch
that is value for value the noise of one draw."""

from __future__ import annotations

import errno
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers import labelled_blobs_plugin, make_image_folder, registry_with
from PIL import Image

import ganzoo
from ganzoo.api import _label_batches, iter_samples, sample_labels
from ganzoo.cli import main
from ganzoo.cli.sampling import PICTURE_MAX, _write_files
from ganzoo.errors import ConfigError
from ganzoo.interfaces import generate
from ganzoo.latent import noise, noise_batches

Z_DIM = 20  # not a multiple of 16: torch draws the ragged end of such noise differently, the case to get right


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("edges")
    images = make_image_folder(root / "images", n=16)
    main(["train", "dcgan", "--dataset", f"folder:{images}", "--image-size", "28", "--batch-size", "4", "--z-dim",
          str(Z_DIM), "--steps", "2", "--out", str(root / "run"), "-q"])
    return root / "run"


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("edges-cgan") / "run"
    ganzoo.train("cgan", out, registry=registry_with(labelled_blobs_plugin()), dataset="blobs", steps=2,
                 batch_size=8, device="cpu", fid_every=0, z_dim=Z_DIM)
    return out


@pytest.fixture
def small_draws(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """torch.randn refuses any draw of more than 512 rows of noise (so a test of a huge -n fails, rather than
    exhausting memory, when something draws all the noise up front); returns the sizes drawn."""
    real, sizes = torch.randn, []

    def randn(*shape, **kwargs):
        size = torch.Size(shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape).numel()
        assert size <= 512 * Z_DIM, f"a draw of {size} values at once"
        sizes.append(size)
        return real(*shape, **kwargs)

    monkeypatch.setattr(torch, "randn", randn)
    return sizes


def _fails(capsys, argv: list[str], expected: str, code: int = 2) -> None:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert info.value.code == code and len(lines) == 1 and "Traceback" not in err, err
    assert expected in lines[0], lines[0]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


# --- noise and labels drawn per batch --------------------------------------------------------------------------


@pytest.mark.parametrize("z_dim", [1, 3, 15, 16, 20, 100, 128])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 7, 16, 33, 100])
def test_noise_drawn_per_batch_is_one_draw_value_for_value(z_dim, n):
    whole = noise(n, z_dim, seed=11, truncation=0.7)
    for batch_size in (1, 2, 3, 8, 64, 1000):
        parts = list(noise_batches(n, z_dim, 11, batch_size, truncation=0.7))
        assert [len(p) for p in parts] == [min(batch_size, n - s) for s in range(0, n, batch_size)]
        got = torch.cat(parts) if parts else torch.empty(0, z_dim)
        assert torch.equal(got, whole), (z_dim, n, batch_size)


@pytest.mark.parametrize("z_dim", [1, 3, 20, 100])
def test_the_first_rows_of_noise_are_the_same_whatever_n_is(z_dim):
    """What latent.noise promises: noise(1) is the first sample of any n, so a walk starts at sample 0 of the seed.
    A single torch.randn(n, z_dim) breaks it when n * z_dim is not a multiple of 16."""
    longest = noise(37, z_dim, seed=4)
    for n in (1, 2, 3, 5, 36):
        assert torch.equal(noise(n, z_dim, seed=4), longest[:n]), (z_dim, n)


def test_noise_batches_hold_one_batch_and_refuse_bad_arguments(small_draws):
    batches = noise_batches(10**12, Z_DIM, 0, 256)  # a million million rows: only what is asked for is drawn
    assert next(batches).shape == (256, Z_DIM) and next(batches).shape == (256, Z_DIM)
    assert max(small_draws) <= 256 * Z_DIM + 16
    with pytest.raises(ConfigError, match="batch size must be a positive integer"):
        noise_batches(4, Z_DIM, 0, 0)
    with pytest.raises(ConfigError, match="must not be negative"):
        noise_batches(-1, Z_DIM, 0, 4)


@pytest.mark.parametrize("n", [1, 7, 40])
def test_drawn_labels_per_batch_are_the_labels_of_one_draw(n):
    run = SimpleNamespace(num_classes=10)
    whole = sample_labels(run, n, None, seed=4)
    for batch_size in (1, 3, 16):
        assert torch.equal(torch.cat(list(_label_batches(run, n, None, 4, batch_size))), whole)


def test_streamed_samples_are_todays_samples(run_dir, conditional_run):
    """Sample i still comes from row i of noise(n, z_dim, seed) (and, conditional, label i of one draw)."""
    for source in (run_dir, conditional_run):
        run = ganzoo.load(source)
        z, y = noise(7, Z_DIM, 5), sample_labels(run, 7, None, 5)
        with torch.no_grad():
            expected = torch.cat([generate(run.sampler, z[s:s + 3], None if y is None else y[s:s + 3])
                                  for s in range(0, 7, 3)])
        assert torch.equal(torch.cat(list(iter_samples(run, 7, seed=5, batch_size=3))), expected)
        assert torch.equal(ganzoo.sample(run, 7, seed=5), generate(run.sampler, z, y).detach())


# --- a directory output ------------------------------------------------------------------------------------------


def test_a_directory_that_holds_files_is_refused_and_kept(run_dir, tmp_path, capsys):
    out = tmp_path / "out1"
    main(["sample", str(run_dir), "-n", "3", "-o", f"{out}/"])
    before = _snapshot(out)
    _fails(capsys, ["sample", str(run_dir), "-n", "2", "-o", f"{out}/"], f"output directory {out}/ is not empty")
    _fails(capsys, ["sample", str(run_dir), "-n", "2", "-o", str(out)], "is not empty")  # no slash: the same
    assert _snapshot(out) == before
    (tmp_path / "hidden").mkdir()
    (tmp_path / "hidden" / ".DS_Store").write_text("x")
    _fails(capsys, ["sample", str(run_dir), "-o", f"{tmp_path / 'hidden'}/"], "(it holds .DS_Store)")


def test_an_empty_directory_is_filled(run_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    main(["sample", str(run_dir), "-n", "3", "-o", str(tmp_path / "empty")])
    assert sorted(p.name for p in (tmp_path / "empty").iterdir()) == [f"sample_00000{i}.png" for i in range(3)]


def test_a_directory_output_streams_in_batches(run_dir, tmp_path, small_draws):
    """600 samples in batches of 256: no draw holds them all, and the files are the samples of one draw."""
    main(["sample", str(run_dir), "-n", "600", "--seed", "2", "-o", f"{tmp_path / 'many'}/"])
    files = sorted((tmp_path / "many").iterdir())
    assert len(files) == 600 and max(small_draws) <= 256 * Z_DIM + 16
    expected = ganzoo.data.to_uint8_images(ganzoo.sample(ganzoo.load(run_dir), 600, seed=2))
    for i in (0, 255, 256, 599):
        np.testing.assert_array_equal(np.asarray(Image.open(files[i])), expected[i, 0].numpy())


@pytest.mark.parametrize("made", [True, False])
@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()])
def test_a_directory_output_that_fails_midway_leaves_nothing(run_dir, tmp_path, capsys, monkeypatch, made,
                                                              failure):
    import ganzoo.plots

    out = tmp_path / "deep" / "out" if made else tmp_path / "existing"
    if not made:
        out.mkdir()
    real, count = ganzoo.plots.save_image, [0]

    def save_image(image, path):
        if count[0] == 5:
            raise failure
        count[0] += 1
        return real(image, path)

    monkeypatch.setattr(ganzoo.plots, "save_image", save_image)
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(["sample", str(run_dir), "-n", "12", "-o", f"{out}/"])
    err = capsys.readouterr().err
    assert info.value.code == (2 if isinstance(failure, OSError) else 130) and len(err.strip().splitlines()) == 1
    assert count[0] == 5
    if made:
        assert not (tmp_path / "deep").exists()
    else:
        assert out.is_dir() and not any(out.iterdir())


def test_names_sort_in_sample_order_past_a_million(tmp_path):
    _write_files([torch.zeros(2, 1, 4, 4)], tmp_path / "big", num=1_000_001)
    assert sorted(p.name for p in (tmp_path / "big").iterdir()) == ["sample_0000000.png", "sample_0000001.png"]


# --- one picture -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, output, expected", [
    (["-n", "100000000"], "keep.png", f"-n 100000000: one .png holds at most {PICTURE_MAX} samples"),
    (["-n", str(PICTURE_MAX + 1)], "keep.png", f"one .png holds at most {PICTURE_MAX} samples; -o DIR/"),
    (["-n", "4", "--nrow", "1000000000"], "keep.png", f"--nrow 1000000000: a .png row holds at most {PICTURE_MAX}"),
    (["--interpolate", "1,2", "--frames", "100000000"], "keep.gif", f"a walk holds at most {PICTURE_MAX} frames"),
    (["--interpolate", "1,2", "--frames", "100000000"], "keep.png", f"a walk holds at most {PICTURE_MAX} frames"),
])
def test_a_picture_beyond_the_cap_is_refused_and_the_file_kept(run_dir, tmp_path, capsys, small_draws, args,
                                                                output, expected):
    (tmp_path / output).write_bytes(b"the user's file")
    _fails(capsys, ["sample", str(run_dir), *args, "-o", str(tmp_path / output)], expected)
    assert (tmp_path / output).read_bytes() == b"the user's file" and len(list(tmp_path.iterdir())) == 1


def test_a_per_class_grid_beyond_the_cap_is_refused(conditional_run, tmp_path, capsys, small_draws):
    _fails(capsys, ["sample", str(conditional_run), "--per-class", "100000000", "-o", str(tmp_path / "g.png")],
           f"--per-class 100000000 with 3 classes is 300000000 samples: one .png holds at most {PICTURE_MAX}")
    assert not any(tmp_path.iterdir())


def test_a_picture_at_the_cap_is_drawn(run_dir, tmp_path):
    main(["sample", str(run_dir), "-n", "4", "--nrow", str(PICTURE_MAX), "-o", str(tmp_path / "row.png")])
    assert Image.open(tmp_path / "row.png").size == (PICTURE_MAX * 30 + 2, 32)


@pytest.mark.parametrize("args, output", [([], "grid.png"), (["--interpolate", "1,2"], "walk.gif"),
                                          (["--interpolate", "1,2"], "walk.png")])
def test_a_picture_replaces_its_file_atomically(run_dir, tmp_path, capsys, monkeypatch, args, output):
    """An existing output is replaced (like cp); a write that fails midway leaves the old file whole."""
    path = tmp_path / output
    path.write_bytes(b"old")
    main(["sample", str(run_dir), *args, "-o", str(path)])
    new = path.read_bytes()
    assert new != b"old" and Image.open(path).format in ("PNG", "GIF")

    def half_then_fail(self, fp, *a, **k):
        Path(fp).write_bytes(new[: len(new) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Image.Image, "save", half_then_fail)
    _fails(capsys, ["sample", str(run_dir), *args, "--seed", "9", "-o", str(path)], "No space left on device")
    assert path.read_bytes() == new and [p.name for p in tmp_path.iterdir()] == [output]


def test_nrow_with_a_directory_output_is_refused_not_ignored(run_dir, tmp_path, capsys):
    _fails(capsys, ["sample", str(run_dir), "-n", "4", "--nrow", "2", "-o", f"{tmp_path / 'dir'}/"],
           "--nrow lays out a .png grid")
    assert not (tmp_path / "dir").exists()
