"""Image folders as they come: mixed sizes and aspect ratios (torchvision's Resize + CenterCrop), every colour mode,
nested folders and upper-case extensions, one subfolder per class (ImageFolder's labels), bad files named or
skipped."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import ganzoo
from ganzoo.data.base import DataRequest
from ganzoo.data.folder import load_folder, scan, split_indices
from ganzoo.data.transforms import resize_center_crop
from ganzoo.errors import DataError


def _load(folder: Path, split: str = "train", size: int = 8, channels: int | None = None, **kw):
    return load_folder(DataRequest(split=split, image_size=size, channels=channels, argument=str(folder), **kw))


def _noise_png(path: Path, width: int, height: int, mode: str = "RGB", seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    shape = (height, width, 3) if mode == "RGB" else (height, width)
    pixels = rng.integers(0, 256, shape, dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels, mode).save(path)
    return pixels


def _both(folder: Path, **kw) -> torch.Tensor:
    """Every image of the folder (both splits), in file order."""
    train, test = _load(folder, "train", **kw), _load(folder, "test", **kw)
    n = len(train) + len(test)
    out = torch.empty((n, *train.data.shape[1:]), dtype=torch.uint8)
    out[split_indices(n, "train")] = train.data
    out[split_indices(n, "test")] = test.data
    return out


@pytest.mark.parametrize("width, height", [(40, 20), (20, 40), (33, 17), (16, 16), (5, 7)])
def test_resize_center_crop_is_torchvisions_resize_then_center_crop(width, height):
    tf = pytest.importorskip("torchvision.transforms.v2.functional")
    x = torch.from_numpy(np.random.default_rng(width).integers(0, 256, (2, 3, height, width), dtype=np.uint8))
    ours = resize_center_crop(x, 12)
    theirs = tf.center_crop(tf.resize(x.float(), 12, antialias=True).round().clamp(0, 255), [12, 12]).to(torch.uint8)
    assert ours.shape == (2, 3, 12, 12)
    torch.testing.assert_close(ours, theirs, atol=0, rtol=0)


def test_mixed_sizes_and_aspect_ratios_train_side_by_side(tmp_path):
    # a wide and a tall image, white in the middle and black at the ends, and a small square one
    wide = np.zeros((30, 90), dtype=np.uint8)
    wide[:, 20:70] = 255
    Image.fromarray(wide).save(tmp_path / "a_wide.png")
    Image.fromarray(np.ascontiguousarray(wide.T)).save(tmp_path / "b_tall.png")
    Image.fromarray(np.full((4, 4), 77, dtype=np.uint8)).save(tmp_path / "c_small.png")
    images = _both(tmp_path, size=8)
    assert images.shape == (3, 1, 8, 8)
    assert int(images[0].min()) == 255 and int(images[1].min()) == 255  # the centre crop cuts the black ends off
    assert images[2].unique().tolist() == [77]  # upscaled, not stretched


def test_colour_modes_convert_to_the_channels(tmp_path):
    gray = tmp_path / "gray"
    gray.mkdir()
    Image.new("L", (6, 6), 90).save(gray / "l.png")
    Image.new("LA", (6, 6), (90, 10)).save(gray / "la.png")
    Image.fromarray(np.full((6, 6), 90 * 256 + 200, dtype=np.uint16)).save(gray / "sixteen.png")  # I;16
    Image.new("1", (6, 6), 1).save(gray / "one.png")
    assert {Image.open(p).mode for p in gray.iterdir()} == {"L", "LA", "I;16", "1"}
    g = _both(gray, size=6)
    assert g.shape[1] == 1  # a grayscale folder stays grayscale
    assert sorted(int(img.flatten()[0]) for img in g) == [90, 90, 90, 255]  # 16-bit scaled, not clipped at 255

    colour = tmp_path / "colour"
    colour.mkdir()
    Image.new("RGBA", (6, 6), (10, 20, 30, 0)).save(colour / "rgba.png")
    palette = Image.new("P", (6, 6), 1)
    palette.putpalette([0, 0, 0, 200, 100, 50] + [0] * 762)
    palette.info["transparency"] = 0
    palette.save(colour / "palette.png", transparency=0)
    Image.new("L", (6, 6), 40).save(colour / "gray.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a palette with transparency goes through RGBA, as PIL asks
        c = _both(colour, size=6)
    assert c.shape[1] == 3  # one colour image makes the folder RGB
    assert sorted(tuple(img[:, 0, 0].tolist()) for img in c) == [(10, 20, 30), (40, 40, 40), (200, 100, 50)]
    assert _both(colour, size=6, channels=1).shape[1] == 1


def test_nested_folders_and_upper_case_extensions(tmp_path):
    _noise_png(tmp_path / "deep" / "er" / "A.PNG", 8, 8)
    _noise_png(tmp_path / "b.Png", 8, 8, seed=1)
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(tmp_path / "C.JPG", format="JPEG")
    (tmp_path / "notes.TXT").write_text("not an image")
    assert len(scan(tmp_path).files) == 3
    assert _both(tmp_path).shape[0] == 3


def test_class_subfolders_give_imagefolder_labels(tmp_path):
    datasets = pytest.importorskip("torchvision.datasets")
    for i, (cls, name) in enumerate([("dog", "a.png"), ("cat", "z.png"), ("cat", "deep/b.PNG"), ("bird", "c.png"),
                                     ("dog", "d.png"), ("cat", "e.png")]):
        _noise_png(tmp_path / cls / name, 8 + i, 8, seed=i)
    listing = scan(tmp_path)
    ours = dict(zip(map(str, listing.files), listing.labels, strict=True))
    reference = datasets.ImageFolder(str(tmp_path))
    assert listing.classes == tuple(reference.classes) == ("bird", "cat", "dog")
    assert ours == {path: target for path, target in reference.samples}

    train, test = _load(tmp_path, "train"), _load(tmp_path, "test")
    assert train.labels.dtype == torch.int64 and train.num_classes == 3 and train.class_names == ("bird", "cat", "dog")
    assert sorted(train.labels.tolist() + test.labels.tolist()) == sorted(ours.values())


def test_images_beside_the_subfolders_make_the_folder_unlabelled(tmp_path):
    _noise_png(tmp_path / "cat" / "a.png", 8, 8)
    _noise_png(tmp_path / "top.png", 8, 8)
    data = _load(tmp_path, "train")
    assert data.labels is None and data.num_classes == 0 and data.class_names == ()


@pytest.mark.parametrize("content", [b"", b"definitely not a PNG", None])
def test_a_bad_file_is_one_line_naming_it_or_skipped_and_listed(tmp_path, content):
    for i in range(20):
        _noise_png(tmp_path / f"img{i:02d}.png", 8, 8, seed=i)
    before = {split: _load(tmp_path, split).data for split in ("train", "test")}
    index = split_indices(20, "test")[0]
    bad = tmp_path / f"img{index:02d}.png"  # replaces a held-out file: no other file may change split
    if content is None:  # a real PNG cut short: the header reads fine, decoding fails
        bad.write_bytes(bad.read_bytes()[:60])
    else:
        bad.write_bytes(content)
    with pytest.raises(DataError, match=f"cannot read image {bad}") as info:
        for split in ("train", "test"):
            _load(tmp_path, split)
    assert "\n" not in str(info.value) and "--skip-bad-images" in str(info.value)

    test = _load(tmp_path, "test", skip_bad=True)
    assert len(test.skipped) == 1 and test.skipped[0].startswith(f"{bad}: ")
    torch.testing.assert_close(test.data, before["test"][1:])
    train = _load(tmp_path, "train", skip_bad=True)
    torch.testing.assert_close(train.data, before["train"])
    # a bad header is found by the scan whichever split the file is in; a bad body only when it is decoded
    assert len(train.skipped) == (0 if content is None else 1)


def test_a_folder_of_mixed_photos_trains_and_config_json_records_it(tmp_path, capsys):
    from ganzoo.cli import main

    folder = tmp_path / "photos"
    for i, (w, h) in enumerate([(64, 48), (48, 64), (40, 40), (100, 30), (30, 31), (50, 45), (45, 60), (70, 35)]):
        _noise_png(folder / ("cats" if i % 2 else "dogs") / f"{i}.jpg", w, h, seed=i)
    (folder / "dogs" / "broken.jpg").write_bytes(b"\xff\xd8 not really")
    run = tmp_path / "run"
    main(["train", "dcgan", "--dataset", f"folder:{folder}", "--image-size", "32", "--batch-size", "4", "--z-dim", "8",
          "--steps", "1", "--skip-bad-images", "--out", str(run), "-q"])
    assert "skipped 1 unreadable image file" in capsys.readouterr().err
    config = json.loads((run / "config.json").read_text())
    assert config["channels"] == 3 and config["device"] == "cpu" and config["skip_bad_images"] is True
    assert config["requested"]["channels"] is None and config["requested"]["device"] == "auto"
    data = config["data"]
    assert data["shape"] == [3, 32, 32] and data["classes"] == ["cats", "dogs"] and data["num_classes"] == 2
    assert "center-crop" in data["preprocessing"] and "shorter side" in data["preprocessing"]
    assert [entry.split(":")[0] for entry in data["skipped"]] == [str(folder / "dogs" / "broken.jpg")]
    assert ganzoo.load(run).class_names == ("cats", "dogs")  # a sampler can name the classes from the checkpoint
