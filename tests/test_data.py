"""Data readers: image folders (sizes, modes, splits, broken files), IDX files, channel/size conversion, and the
batch order that makes resume exact (a pure function of seed and batch index)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.data.base import DataRequest
from ganzoo.data.folder import load_folder, split_files
from ganzoo.data.idx import read_idx
from ganzoo.data.transforms import convert_channels, prepare_images, resize_uint8
from ganzoo.engine.batches import BatchStream
from ganzoo.errors import DataError


def _png(path: Path, size: int = 8, mode: str = "L", value: int = 100) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    color = value if mode == "L" else (value, 0, 255 - value)
    Image.new(mode, (size, size), color).save(path)
    return path


def _load(folder: Path, split: str = "train", size: int = 8, channels: int | None = None, **kw):
    return load_folder(DataRequest(split=split, image_size=size, channels=channels, argument=str(folder), **kw))


# --- image folders ------------------------------------------------------------------------------------------------

def test_folder_reads_every_image_recursively_and_ignores_other_files(tmp_path):
    for i in range(5):
        _png(tmp_path / f"a{i}.png", value=10 * i)
    for i in range(5):
        _png(tmp_path / "sub" / f"b{i}.png", value=100 + i)
    (tmp_path / "notes.txt").write_text("not an image, not a problem")
    (tmp_path / ".hidden.png").write_text("hidden files are skipped")
    train, test = _load(tmp_path, "train"), _load(tmp_path, "test")
    assert len(train) == 9 and len(test) == 1  # 10% held out, at least one
    assert train.data.dtype == torch.uint8 and tuple(train.data.shape[1:]) == (1, 8, 8)
    values = sorted(train.data[:, 0, 0, 0].tolist() + test.data[:, 0, 0, 0].tolist())
    assert values == sorted([10 * i for i in range(5)] + [100 + i for i in range(5)])


def test_the_split_is_fixed_and_disjoint():
    files = [Path(f"{i}.png") for i in range(50)]
    train, test = split_files(files, "train"), split_files(files, "test")
    assert len(test) == 5 and not set(train) & set(test) and sorted(train + test) == sorted(files)
    assert split_files(files, "test") == test
    with pytest.raises(DataError, match="unknown split 'val'"):
        split_files(files, "val")


def test_any_colour_image_makes_the_folder_rgb_unless_channels_says_otherwise(tmp_path):
    _png(tmp_path / "gray.png", mode="L", value=90)
    _png(tmp_path / "colour.png", mode="RGB", value=90)
    both = _load(tmp_path, "train")  # with two files the train split holds one: the mode comes from all of them
    assert both.data.shape[1] == 3
    gray = _load(tmp_path, "train", channels=1)
    assert gray.data.shape[1] == 1


@pytest.mark.parametrize("content", [b"", b"definitely not a PNG", None])
def test_a_broken_image_is_named(tmp_path, content):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "good.png")
    bad = tmp_path / "bad.png"
    if content is None:  # a real PNG cut short: the header reads fine, decoding fails
        data = (tmp_path / "good.png").read_bytes()
        bad.write_bytes(data[: len(data) // 2])
    else:
        bad.write_bytes(content)
    with pytest.raises(DataError, match=f"cannot read image {bad}") as info:
        for split in ("train", "test"):
            _load(tmp_path, split, size=64)
    assert "\n" not in str(info.value)


def test_folder_arguments_are_checked(tmp_path):
    with pytest.raises(DataError, match="needs a path"):
        load_folder(DataRequest(argument=None))
    with pytest.raises(DataError, match="does not exist or is not a directory"):
        _load(tmp_path / "missing")
    with pytest.raises(DataError, match="holds no images"):
        _load(tmp_path)
    _png(tmp_path / "a.png")
    with pytest.raises(DataError, match="--data-dir is for torchvision-format datasets"):
        _load(tmp_path, root=tmp_path)


# --- IDX files ------------------------------------------------------------------------------------------------------

def _idx(array: np.ndarray, code: int = 0x08) -> bytes:
    return bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape) + array.tobytes()


def test_idx_round_trip_plain_and_gzipped(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "x-idx3-ubyte").write_bytes(_idx(images))
    with gzip.open(tmp_path / "y-idx1-ubyte.gz", "wb") as fh:
        fh.write(_idx(np.array([3, 7], dtype=np.uint8)))
    torch.testing.assert_close(read_idx(tmp_path / "x-idx3-ubyte"), torch.from_numpy(images))
    assert read_idx(tmp_path / "y-idx1-ubyte.gz").tolist() == [3, 7]


@pytest.mark.parametrize("name, data, message", [
    ("short", b"\x00\x00", "is not an IDX file"),
    ("magic", b"PK\x03\x04rest", "is not an IDX file"),
    ("header", bytes([0, 0, 8, 3, 0, 0]), "its header is incomplete"),
    ("truncated", _idx(np.zeros((4, 5), np.uint8))[:-3], "is truncated or padded"),
    ("padded", _idx(np.zeros((4, 5), np.uint8)) + b"xx", "is truncated or padded"),
    ("gzip-garbage", b"\x1f\x8b\x08\x00garbage", "cannot read"),
    ("gzip-truncated", gzip.compress(_idx(np.zeros((40, 50), np.uint8)))[:30], "cannot read"),
])
def test_broken_idx_files_are_one_data_error(tmp_path, name, data, message):
    path = tmp_path / (f"{name}-idx3-ubyte" + (".gz" if name.startswith("gzip") else ""))
    path.write_bytes(data)
    with pytest.raises(DataError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


# --- conversions ----------------------------------------------------------------------------------------------------

def test_channel_conversion_matches_pil():
    rgb = torch.randint(0, 256, (2, 3, 5, 5), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    gray = convert_channels(rgb, 1)
    for i in range(2):
        pil = np.asarray(Image.fromarray(rgb[i].permute(1, 2, 0).numpy(), "RGB").convert("L"))
        np.testing.assert_allclose(gray[i, 0].numpy().astype(int), pil.astype(int), atol=1)
    assert torch.equal(convert_channels(gray, 3)[:, 1], gray[:, 0])
    with pytest.raises(DataError, match="cannot convert 2-channel images to 3 channels"):
        convert_channels(torch.zeros(1, 2, 4, 4, dtype=torch.uint8), 3)


def test_resizing_keeps_uint8_and_is_a_no_op_at_the_same_size():
    x = torch.full((3, 1, 8, 8), 200, dtype=torch.uint8)
    assert resize_uint8(x, 8) is x
    y = prepare_images(x, 4, 3)
    assert y.dtype == torch.uint8 and tuple(y.shape) == (3, 3, 4, 4) and bool((y == 200).all())


# --- batch order ----------------------------------------------------------------------------------------------------

def test_batch_k_is_a_pure_function_of_seed_and_k():
    a, b = BatchStream(50, 8, seed=5), BatchStream(50, 8, seed=5)
    forward = [a.indices(k).tolist() for k in range(14)]
    backward = [b.indices(k).tolist() for k in reversed(range(14))][::-1]  # any access order, same batches
    assert forward == backward
    epoch = sorted(i for k in range(6) for i in forward[k])  # 6 full batches per epoch, no repeats
    assert len(set(epoch)) == 48
    assert forward[:6] != forward[6:12]  # a fresh permutation each epoch
    assert BatchStream(50, 8, seed=6).indices(0).tolist() != forward[0]
    BatchStream(50, 8, seed=2**63 - 1).indices(10**6)  # the largest seed does not overflow the generator
