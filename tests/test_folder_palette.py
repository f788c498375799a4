"""Palette images in an image folder: grayscale when every palette entry is a gray, colour otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from ganzoo.data.base import DataRequest
from ganzoo.data.folder import load_folder, read_images, scan

GRAYS = [0, 90, 170, 255]  # not the identity ramp, which PIL would open as mode "L" already
GRAY_PALETTE = [v for g in GRAYS for v in (g, g, g)]
COLOUR_PALETTE = [0, 0, 0, 200, 30, 30, 170, 170, 170, 255, 255, 255]
INDICES = np.array([[0, 1, 2, 3], [3, 2, 1, 0], [1, 1, 2, 2], [0, 3, 0, 3]], dtype=np.uint8)


def _palette_image(path: Path, palette: list[int], indices: np.ndarray = INDICES, **save) -> Path:
    img = Image.fromarray(indices, "P")
    img.putpalette(palette)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, **save)
    with Image.open(path) as check:
        assert check.mode == "P", "the test needs a file PIL opens as a palette image"
    return path


def _gray_folder(folder: Path) -> list[Path]:
    return [_palette_image(folder / "a.gif", GRAY_PALETTE), _palette_image(folder / "b.png", GRAY_PALETTE),
            _palette_image(folder / "c.gif", GRAY_PALETTE, INDICES[::-1].copy(), transparency=3)]


def test_gray_palette_images_make_a_grayscale_folder(tmp_path: Path):
    _gray_folder(tmp_path)
    assert scan(tmp_path).mode == "L"
    data = load_folder(DataRequest(image_size=4, channels=None, argument=str(tmp_path)))
    assert data.data.shape[1:] == (1, 4, 4)


def test_gray_palette_images_load_as_their_gray_levels(tmp_path: Path):
    files = _gray_folder(tmp_path)
    images, kept, bad = read_images(files, "L")
    assert kept == [0, 1, 2] and bad == []
    expected = np.array(GRAYS, dtype=np.uint8)[INDICES]
    np.testing.assert_array_equal(images[0, 0].numpy(), expected)
    np.testing.assert_array_equal(images[1, 0].numpy(), expected)
    np.testing.assert_array_equal(images[2, 0].numpy(), expected[::-1])  # the transparent index keeps its gray


@pytest.mark.parametrize("suffix", [".gif", ".png"])
def test_one_colour_palette_image_makes_the_folder_rgb(tmp_path: Path, suffix: str):
    _gray_folder(tmp_path)
    _palette_image(tmp_path / f"d{suffix}", COLOUR_PALETTE)
    assert scan(tmp_path).mode == "RGB"
    data = load_folder(DataRequest(split="test", image_size=4, channels=None, argument=str(tmp_path)))
    assert data.data.shape[1:] == (3, 4, 4)


def test_an_unused_coloured_palette_entry_counts_as_colour(tmp_path: Path):
    # the palette alone decides, so no pixel is decoded to tell (PNG keeps unused entries; GIF saving drops them)
    _palette_image(tmp_path / "a.png", COLOUR_PALETTE, np.where(INDICES == 1, 0, INDICES).astype(np.uint8))
    assert scan(tmp_path).mode == "RGB"


def test_deciding_the_mode_decodes_no_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _gray_folder(tmp_path)
    decoded: list[str] = []
    load = ImageFile.ImageFile.load

    def counting_load(self):
        decoded.append(self.filename)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)
    assert scan(tmp_path).mode == "L"
    assert decoded == []
