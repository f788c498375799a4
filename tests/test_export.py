"""``ganzoo export``: the sampling generator as ONNX (run with onnxruntime) and TorchScript, with a dynamic batch,
matching PyTorch's outputs; formats are registered exporters; bad requests are one line."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from helpers import make_image_folder, registry_with

import ganzoo
from ganzoo.cli import main
from ganzoo.errors import ConfigError, UnknownNameError


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    images = make_image_folder(root / "images", n=16, channels=3)
    main(["train", "dcgan", "--dataset", f"folder:{images}", "--image-size", "32", "--batch-size", "4", "--z-dim",
          "16", "--steps", "2", "--ema-decay", "0.9", "--out", str(root / "run"), "-q"])
    return root / "run"


def _reference(run_dir: Path, z: torch.Tensor) -> np.ndarray:
    run = ganzoo.load(run_dir)
    with torch.no_grad():
        return run.sampler(z).numpy()


def test_onnx_matches_pytorch_at_any_batch_size(run_dir, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    out = tmp_path / "g.onnx"
    main(["export", str(run_dir), str(out), "--format", "onnx"])
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["z"] and session.get_inputs()[0].shape[1] == 16
    for batch in (1, 7):
        z = torch.randn(batch, 16, generator=torch.Generator().manual_seed(batch))
        got = session.run(None, {"z": z.numpy()})[0]
        assert got.shape == (batch, 3, 32, 32)
        np.testing.assert_allclose(got, _reference(run_dir, z), atol=1e-5, rtol=0)
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["ganzoo_variant"] == "dcgan" and meta["ganzoo_generator"] == "ema" and meta["ganzoo_step"] == "2"
    assert json.loads(meta["ganzoo_data_shape"]) == [3, 32, 32]


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_matches_pytorch_and_defaults_into_the_run(run_dir):
    path = ganzoo.export(run_dir, format="torchscript")
    assert path == run_dir / "generator.pt"
    files = {"ganzoo.json": ""}
    module = torch.jit.load(str(path), _extra_files=files)
    assert json.loads(files["ganzoo.json"])["ganzoo_z_dim"] == "16"
    for batch in (1, 5):
        z = torch.randn(batch, 16, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            np.testing.assert_allclose(module(z).numpy(), _reference(run_dir, z), atol=1e-5, rtol=0)


def test_an_exporter_plugin_adds_a_format(run_dir, tmp_path):
    module = ModuleType("npz_exporter")

    def export_npz(generator, path, info):
        z = torch.zeros(2, generator.z_dim)
        with torch.no_grad(), open(path, "wb") as fh:  # a file name would get np.savez's own ".npz" appended
            np.savez(fh, zero_noise_samples=generator(z).numpy(), **info)

    @ganzoo.hookimpl
    def ganzoo_register_exporters(register):
        register(ganzoo.ExporterSpec("npz", "samples of z = 0", export_npz, ".npz"))

    module.ganzoo_register_exporters = ganzoo_register_exporters
    registry = registry_with(module)
    path = ganzoo.export(run_dir, tmp_path / "zero.npz", registry=registry)  # its suffix names the format
    with np.load(path) as data:
        assert data["zero_noise_samples"].shape == (2, 3, 32, 32) and str(data["ganzoo_variant"]) == "dcgan"


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_the_suffix_picks_the_format_when_none_is_given(run_dir, tmp_path, capsys):
    main(["export", str(run_dir), str(tmp_path / "g.pt")])
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'g.pt'} (torchscript)"
    torch.jit.load(str(tmp_path / "g.pt"))  # a TorchScript archive, not ONNX under a .pt name
    for name, said in (("g.txt", "the suffix .txt"), ("g", "no suffix")):
        with pytest.raises(SystemExit) as exit_info:
            main(["export", str(run_dir), str(tmp_path / name)])
        assert exit_info.value.code == 2
        assert capsys.readouterr().err.strip() == (
            f"error: {tmp_path / name} has {said}, so its format is unclear: end it in .onnx (onnx) or "
            ".pt (torchscript), or give --format (hub for a model folder)")
    folder = tmp_path / "models.v1"
    folder.mkdir()
    for argv, said in (([str(folder)], f"{folder} is a folder: give the file to write (e.g. "
                                        f"{folder / 'generator.onnx'}), or --format hub for a model folder"),
                       ([str(tmp_path / "model"), "--push", "hf://me/g"], "--push uploads a model folder: use "
                                                                          "it with --format hub")):
        with pytest.raises(SystemExit):
            main(["export", str(run_dir), *argv])
        assert capsys.readouterr().err.strip() == f"error: {said}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.pt", "models.v1"] and not any(folder.iterdir())
    main(["export", str(run_dir), str(tmp_path / "G.PT")])  # the suffix's case does not matter
    torch.jit.load(str(tmp_path / "G.PT"))
    main(["export", str(run_dir), str(tmp_path / "g.txt"), "--format", "torchscript"])  # asked for: any name
    torch.jit.load(str(tmp_path / "g.txt"))


def test_plugin_suffixes_the_longest_wins_and_a_shared_one_asks(run_dir, tmp_path):
    module = ModuleType("suffix_exporters")

    @ganzoo.hookimpl
    def ganzoo_register_exporters(register):
        for name, suffix in (("tar", ".tar.gz"), ("gz", ".gz"), ("npy-a", ".npy"), ("npy-b", ".npy")):
            register(ganzoo.ExporterSpec(name, name, lambda g, p, i: None, suffix))

    module.ganzoo_register_exporters = ganzoo_register_exporters
    registry = registry_with(module)
    assert ganzoo.api.export_format(tmp_path / "g.tar.gz", registry) == "tar"
    assert ganzoo.api.export_format(tmp_path / "g.gz", registry) == "gz"
    assert ganzoo.api.export_format(None, registry) == "onnx"
    with pytest.raises(ConfigError, match=r"\.npy is written by several exporters \(npy-a, npy-b\): choose one"):
        ganzoo.api.export_format(tmp_path / "g.npy", registry)


def test_bad_exports_are_one_line_and_write_nothing(run_dir, tmp_path, capsys):
    with pytest.raises(UnknownNameError, match="unknown exporter 'onxx'; did you mean 'onnx'"):
        ganzoo.export(run_dir, tmp_path / "g.onnx", format="onxx")
    with pytest.raises(ConfigError, match="is a folder"):
        ganzoo.export(run_dir, tmp_path, format="onnx")
    with pytest.raises(ConfigError, match="does not exist"):
        ganzoo.export(run_dir, tmp_path / "missing" / "g.onnx", format="onnx")

    module = ModuleType("needy_exporter")

    @ganzoo.hookimpl
    def ganzoo_register_exporters(register):
        register(ganzoo.ExporterSpec("coreml", "Core ML", lambda g, p, i: None, ".mlmodel",
                                     requires=("ganzoo_no_such_module",), install="pip install ganzoo-coreml"))

    module.ganzoo_register_exporters = ganzoo_register_exporters
    with pytest.raises(ConfigError) as info:
        ganzoo.export(run_dir, tmp_path / "g.mlmodel", format="coreml", registry=registry_with(module))
    assert str(info.value) == ("--format coreml needs ganzoo_no_such_module, which is not installed: "
                               "pip install ganzoo-coreml")
    assert not any(tmp_path.iterdir())
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(tmp_path / "nowhere"), "--format", "torchscript"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nowhere'} does not exist"
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(run_dir), str(tmp_path / "g.onnx"), "--dtype", "float16"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip() == ("error: --dtype sets the stored weights' type of --format hub; "
                                               "the other formats export the generator in float32")
    assert not any(tmp_path.iterdir())


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export-cgan")
    for label, seed in (("circle", 0), ("dot", 1)):  # one subfolder per class: a labelled folder dataset
        make_image_folder(root / "images" / label, n=8, size=32, seed=seed)
    main(["train", "cgan", "--dataset", f"folder:{root / 'images'}", "--batch-size", "4", "--z-dim", "8",
          "--steps", "2", "--ema-decay", "0.9", "--out", str(root / "run"), "-q"])
    return root / "run"


def _conditional_reference(run_dir: Path, z: torch.Tensor, labels: torch.Tensor) -> np.ndarray:
    run = ganzoo.load(run_dir)
    with torch.no_grad():
        return run.sampler(z, labels).numpy()


def test_a_conditional_generator_exports_with_a_labels_input(conditional_run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "g.onnx"
    main(["export", str(conditional_run), str(out)])
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["z", "labels"]
    for batch in (1, 6):
        z = torch.randn(batch, 8, generator=torch.Generator().manual_seed(batch))
        labels = torch.arange(batch) % 2
        got = session.run(None, {"z": z.numpy(), "labels": labels.numpy()})[0]
        np.testing.assert_allclose(got, _conditional_reference(conditional_run, z, labels), atol=1e-5, rtol=0)
    # the label changes the picture: the input is used, not traced away
    z = torch.randn(2, 8, generator=torch.Generator().manual_seed(0)).numpy()
    first, second = (session.run(None, {"z": z, "labels": np.full(2, k, dtype=np.int64)})[0] for k in (0, 1))
    assert np.abs(first - second).max() > 1e-4


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_a_conditional_generator_traces_to_torchscript(conditional_run, tmp_path):
    path = ganzoo.export(conditional_run, tmp_path / "g.pt", format="torchscript")
    files = {"ganzoo.json": ""}
    module = torch.jit.load(str(path), _extra_files=files)
    info = json.loads(files["ganzoo.json"])
    assert info["ganzoo_num_classes"] == "2" and "labels" in info["ganzoo_io"]
    assert json.loads(info["ganzoo_class_names"]) == ["circle", "dot"]  # label i is class_names[i]
    z, labels = torch.randn(5, 8, generator=torch.Generator().manual_seed(1)), torch.tensor([1, 0, 0, 1, 1])
    with torch.no_grad():
        np.testing.assert_allclose(module(z, labels).numpy(), _conditional_reference(conditional_run, z, labels),
                                   atol=1e-5, rtol=0)


def test_an_export_failure_is_one_line_with_the_cause():
    from ganzoo_plugins.exporters import _reason

    onnx_style = RuntimeError("Failed to export the model with torch.export. \x1b[96mThis is step 1/3\x1b[0m of "
                              "exporting.\nNext steps:\n- Modify the model code.\n\n## Exception summary\n\n"
                              "GuardOnDataDependentSymNode: Could not guard\non data-dependent expression u0 > 0")
    assert _reason(onnx_style) == ("GuardOnDataDependentSymNode: Could not guard on data-dependent expression "
                                   "u0 > 0")
    long = RuntimeError("word " * 100)
    assert _reason(long).endswith(" ...") and len(_reason(long)) <= 244 and "\n" not in _reason(long)
