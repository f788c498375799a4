"""Every bad input a user can type gets a one-line error, a non-zero exit and leaves nothing half-written.

Most cases go through the real console entry point, ``ganzoo.cli.main(argv)``, in this process (fast); a few run
``python -m ganzoo`` in a subprocess to check the exit code and that stderr carries no traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch

import ganzoo
from ganzoo.cli import main
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.rundir import RunDir, RunLock

TINY = ["--image-size", "28", "--batch-size", "4", "--z-dim", "16"]
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@dataclass
class World:
    """Folders and runs the bad inputs point at, built once per module."""

    root: Path
    images: Path
    run: Path  # a finished 2-step dcgan run (28 px, z_dim 16)
    gan_checkpoint: Path  # a checkpoint of another variant
    wide_checkpoint: Path  # a dcgan checkpoint of other shapes (32 px)
    extra: dict[str, Path] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from helpers import make_image_folder

    root = tmp_path_factory.mktemp("bad-inputs")
    images = make_image_folder(root / "images", n=12)
    w = World(root, images, root / "run", root / "gan.safetensors", root / "wide.safetensors")
    main(["train", "dcgan", "--dataset", f"folder:{images}", *TINY, "--steps", "2", "--out", str(w.run), "-q"])
    other = root / "other-runs"
    main(["train", "gan", "--dataset", f"folder:{images}", *TINY, "--steps", "1", "--out", str(other / "gan"), "-q"])
    shutil.copy(other / "gan/checkpoints/step_00000001.safetensors", w.gan_checkpoint)
    wide_images = make_image_folder(root / "images32", n=8, size=32)
    main(["train", "dcgan", "--dataset", f"folder:{wide_images}", "--batch-size", "4", "--z-dim", "16", "--steps",
          "1", "--out", str(other / "wide"), "-q"])
    shutil.copy(other / "wide/checkpoints/step_00000001.safetensors", w.wide_checkpoint)

    broken = root / "broken"
    shutil.copytree(images, broken)
    (broken / "notes.png").write_text("this is not an image")
    text_only = root / "text-only"
    text_only.mkdir()
    (text_only / "README.txt").write_text("no images here")
    (root / "empty").mkdir()
    (root / "a-file").write_text("x")
    (root / "not-a-run").mkdir()
    (root / "not-a-run" / "notes.txt").write_text("mine")
    truncated = root / "truncated.safetensors"
    source = w.run / "checkpoints/step_00000002.safetensors"
    truncated.write_bytes(source.read_bytes()[: source.stat().st_size // 3])
    # right variant and valid checksums, but tensors of z_dim 16 under metadata that says z_dim 8
    tensors, meta = ckpt.load_tensors(source)
    meta["z_dim"] = "8"
    misshapen = root / "misshapen.safetensors"
    ckpt.save_tensors(misshapen, tensors, {k: v for k, v in meta.items() if k not in ("sha256", "meta_sha256")})
    w.extra.update(broken=broken, text_only=text_only, truncated=truncated, misshapen=misshapen)
    return w


def _snapshot(path: Path) -> dict[str, tuple[int, int]]:
    if not path.exists():
        return {}
    if path.is_file():
        return {".": (path.stat().st_size, path.stat().st_mtime_ns)}
    return {str(p.relative_to(path)): (p.stat().st_size, p.stat().st_mtime_ns) for p in path.rglob("*")}


def _fails(capsys, argv: list[str], expected: str, code: int = 2) -> str:
    """Run the CLI; it must exit ``code`` with exactly one stderr line, containing ``expected``."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    assert expected in lines[0], lines[0]
    return lines[0]


def _train(world: World, out: Path, *extra: str, variant: str = "dcgan", dataset: str | None = None) -> list[str]:
    return ["train", variant, "--dataset", dataset or f"folder:{world.images}", *TINY, "--steps", "2",
            "--out", str(out), "-q", *extra]


# (id, extra train options, expected fragment); each trains into a fresh --out that must not appear
def _case(name: str, extra: list[str], expected: str, cuda_free: bool = False):
    return pytest.param(extra, expected, id=name, marks=[NO_CUDA] if cuda_free else [])


# (id, extra train options, expected fragment); each trains into a fresh --out that must not appear
TRAIN_OPTION_CASES = [
    _case("unknown-loss", ["--loss", "hinje"], "unknown loss 'hinje'; did you mean 'hinge'?"),
    _case("zero-steps", ["--steps", "0"], "steps must be a positive integer, got 0"),
    _case("negative-steps", ["--steps", "-5"], "steps must be a positive integer, got -5"),
    _case("zero-batch", ["--batch-size", "0"], "batch-size must be a positive integer, got 0"),
    _case("negative-batch", ["--batch-size", "-1"], "batch-size must be a positive integer, got -1"),
    _case("batch-over-dataset", ["--batch-size", "500"], "fewer than --batch-size 500"),
    _case("image-size", ["--image-size", "30"], "variant 'dcgan' does not support image size 30; supported: 28, 32"),
    _case("channels", ["--channels", "2"], "variant 'dcgan' does not support 2 channels; supported: 1, 3"),
    _case("zero-z-dim", ["--z-dim", "0"], "z-dim must be a positive integer, got 0"),
    _case("huge-z-dim", ["--z-dim", str(10**13)], "cannot build the 'dcgan' networks"),
    _case("negative-lr", ["--lr-g", "-1"], "lr-g must be a positive number, got -1.0"),
    _case("nan-lr", ["--lr-d", "nan"], "lr-d must be a positive number, got nan"),
    _case("inf-lr", ["--lr-d", "inf"], "lr-d must be a positive number, got inf"),
    _case("ema-one", ["--ema-decay", "1"], "ema-decay must be a number in [0, 1), got 1.0"),
    _case("negative-seed", ["--seed", "-1"], "-1 is not in the range 0<=x<2**63"),
    _case("keep-zero", ["--keep-checkpoints", "0"], "keep-checkpoints must be a positive integer, got 0"),
    _case("checkpoint-every-zero", ["--checkpoint-every", "0"], "checkpoint-every must be a positive integer, got 0"),
    _case("device-nonsense", ["--device", "nonsense"], "unknown device 'nonsense'; use auto, cpu, cuda, cuda:N or mps"),
    _case("device-meta", ["--device", "meta"], "unsupported device 'meta'"),
    _case("device-cuda", ["--device", "cuda"], "CUDA is not available here; use --device cpu", cuda_free=True),
    _case("nproc-zero", ["--nproc", "0"], "Invalid value for '--nproc': 0 is not in the range x>=1"),
    _case("steps-not-a-number", ["--steps", "abc"], "Invalid value for '--steps': 'abc' is not a valid integer"),
    _case("unknown-option", ["--stpes", "3"], "No such option '--stpes'. (Did you mean one of: '--loss', '--seed', "
                                              "'--steps'?)"),
]


@pytest.mark.parametrize("extra, expected", TRAIN_OPTION_CASES)
def test_bad_train_options(world, tmp_path, capsys, extra, expected):
    out = tmp_path / "out"
    _fails(capsys, _train(world, out, *extra), expected)
    assert not out.exists()


@pytest.mark.parametrize("name, dataset, expected", [
    ("unknown-dataset", "mnsit", "unknown dataset 'mnsit'; did you mean 'mnist'?"),
    ("folder-without-path", "folder", "dataset 'folder' needs an argument: use --dataset folder:ARG"),
    ("folder-empty-path", "folder:", "dataset 'folder' needs an argument"),
    ("missing-folder", "folder:{root}/nowhere", "image folder {root}/nowhere does not exist or is not a directory"),
    ("empty-folder", "folder:{root}/empty", "image folder {root}/empty holds no images"),
    ("text-only-folder", "folder:{root}/text-only", "image folder {root}/text-only holds no images"),
    ("non-image-file", "folder:{root}/broken", "cannot read image {root}/broken/notes.png: cannot identify image"),
    ("argument-for-mnist", "mnist:foo", "dataset 'mnist' takes no argument (got 'mnist:foo')"),
    ("points-for-an-image-variant", "ring8", "variant 'dcgan' does not train on points data (ring8)"),
])
def test_bad_datasets(world, tmp_path, capsys, name, dataset, expected):
    out = tmp_path / "out"
    root = str(world.root)
    _fails(capsys, _train(world, out, dataset=dataset.format(root=root)), expected.format(root=root))
    assert not out.exists()


def test_channels_on_point_data_is_refused(world, tmp_path, capsys):
    out = tmp_path / "out"
    _fails(capsys, ["train", "gan", "--dataset", "ring8", "--channels", "3", "--steps", "2", "--out", str(out), "-q"],
           "--channels is for image data; ring8 is points data")
    assert not out.exists()


def test_unknown_variant_suggests_the_close_one(world, tmp_path, capsys):
    _fails(capsys, _train(world, tmp_path / "out", variant="dcgna"), "unknown variant 'dcgna'; did you mean 'dcgan'")
    assert not (tmp_path / "out").exists()
    _fails(capsys, ["info", "wgan_gpp"], "unknown variant 'wgan_gpp'; did you mean 'wgan-gp'")


def test_missing_data_dir(world, tmp_path, capsys):
    out = tmp_path / "out"
    _fails(capsys, _train(world, out, "--data-dir", str(tmp_path / "nowhere"), dataset="mnist"),
           f"--data-dir {tmp_path / 'nowhere'} does not exist or is not a directory")
    _fails(capsys, _train(world, out, "--data-dir", str(world.root)), "--data-dir is for torchvision-format datasets")
    assert not out.exists()


def test_bench_checks_its_extractors_before_training(world, tmp_path, capsys):
    out = tmp_path / "bench"
    _fails(capsys, ["bench", "dcgan", "--dataset", f"folder:{world.images}", "--extractor", "mnist-clasifier",
                    "--out", str(out), "-q"], "unknown extractor 'mnist-clasifier'; did you mean 'mnist-classifier'?")
    _fails(capsys, ["bench", "gan", "--dataset", "ring8", "--extractor", "inception", "--out", str(out), "-q"],
           "--extractor scores images; 'ring8' is a points dataset")
    assert not out.exists()  # nothing trained, nothing written


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder no file can be created in: a read-only one for a normal user; /proc for root, whom permission bits
    do not stop."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
    elif Path("/proc/self").is_dir():
        yield Path("/proc")
    else:
        pytest.skip("no folder here refuses root's writes")


def test_an_unwritable_output_is_one_line_naming_it_before_the_work(world, unwritable, capsys):
    for argv, path in [
        (["sample", str(world.run), "-o", str(unwritable / "grid.png")], unwritable / "grid.png"),
        (["sample", str(world.run), "-o", f"{unwritable / 'new'}/"], unwritable / "new"),
        (["export", str(world.run), str(unwritable / "g.pt"), "--format", "torchscript"], unwritable / "g.pt"),
        (["export", str(world.run), str(unwritable / "model"), "--format", "hub"], unwritable / "model"),
        (["fid", str(world.images), str(world.images), "--save-stats", str(unwritable / "a.npz"),
          "-q"], unwritable / "a.npz"),
        (["lab", "gan", "--steps", "2", "-o", str(unwritable / "lab.html"), "-q"], unwritable / "lab.html"),
    ]:
        line = _fails(capsys, argv, f"{path}: cannot create files in {unwritable}")
        assert ".tmp" not in line  # the file asked for, never an internal temporary name


def test_atomic_write_names_the_destination_when_the_folder_refuses(unwritable):
    with pytest.raises(OSError) as info:
        ckpt.atomic_write(unwritable / "x.bin", lambda tmp: Path(tmp).write_bytes(b"x"))
    assert info.value.filename == str(unwritable / "x.bin")


def test_atomic_write_names_the_destination_when_writing_the_temporary_file_fails(tmp_path):
    def disk_full(tmp: str) -> None:
        Path(tmp).write_bytes(b"half")
        raise OSError(28, "No space left on device", tmp)

    target = tmp_path / "stats.npz"
    target.write_bytes(b"old")
    with pytest.raises(OSError) as info:
        ckpt.atomic_write(target, disk_full)
    assert info.value.filename == str(target) and info.value.errno == 28
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["stats.npz"]


def test_check_writable_walks_up_to_the_nearest_folder_and_leaves_nothing(tmp_path):
    ckpt.check_writable(tmp_path / "new" / "deeper" / "x.png", "output")  # folders to be created: fine
    ckpt.check_writable(tmp_path / "dir", "output", folder=True)
    assert list(tmp_path.iterdir()) == []  # the probe is gone
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ganzoo.ConfigError, match="is not a folder"):
        ckpt.check_writable(tmp_path / "a-file" / "x.png", "output")


def test_outputs_that_would_be_clobbered(world, capsys):
    for out, expected in [
        (world.root / "a-file", "exists and is not a directory"),
        (world.root / "not-a-run", "is not empty and holds no ganzoo run (it has notes.txt)"),
        (world.run, f"{world.run} already holds a run; pass --resume {world.run} to continue it"),
    ]:
        before = _snapshot(out)
        _fails(capsys, _train(world, out), expected)
        assert _snapshot(out) == before


def test_a_run_directory_in_use_is_refused(world, capsys):
    before = _snapshot(world.run)
    with RunLock(RunDir(world.run)):
        _fails(capsys, ["train", "--resume", str(world.run), "--steps", "3", "-q"],
               f"run directory {world.run} is in use by process {os.getpid()}")
        before[".lock"] = _snapshot(world.run)[".lock"]
    before.pop(".lock")
    assert _snapshot(world.run) == before


def test_bad_resumes(world, tmp_path, capsys):
    run = world.run
    before = _snapshot(run)
    _fails(capsys, ["train", "--resume", str(world.root / "not-a-run")], "is not a ganzoo run directory (no config")
    _fails(capsys, ["train", "--resume", str(tmp_path / "nowhere")], f"{tmp_path / 'nowhere'} does not exist")
    _fails(capsys, ["train", "--resume", str(run), "--batch-size", "3"],
           "--batch-size cannot be changed when resuming")
    _fails(capsys, ["train", "gan", "--resume", str(run)], f"{run} is a 'dcgan' run, not 'gan'")
    _fails(capsys, ["train", "--resume", str(run), "--steps", "1"], "--steps 1 is below step 2, which the run")
    _fails(capsys, ["train", "--resume", str(run), "--out", str(tmp_path / "x")], "--out cannot be changed")
    _fails(capsys, ["train"], "give a VARIANT to train (see `ganzoo list`) or --resume RUN_DIR")
    assert _snapshot(run) == before
    # repeating the run's own options is no change and is fine
    main(["train", "dcgan", "--resume", str(run), "--batch-size", "4", "--z-dim", "16", "-q"])
    assert "has already reached step 2" in capsys.readouterr().out


def test_a_damaged_config_json_is_one_line(world, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(world.run, run)
    (run / "config.json").write_text('{"variant": "dcgan", "stpes": 3}')
    _fails(capsys, ["train", "--resume", str(run)], "unknown config keys: 'stpes'")
    (run / "config.json").write_text('{"variant": "dcgan", "steps": "many"}')
    _fails(capsys, ["train", "--resume", str(run)], "steps must be a positive integer, got 'many'")
    (run / "config.json").write_bytes(b"\xff\xfe not json")
    _fails(capsys, ["train", "--resume", str(run)], f"cannot read config {run / 'config.json'}")


def test_an_output_path_below_a_file_is_one_line(world, capsys):
    out = world.root / "a-file" / "run"
    _fails(capsys, _train(world, out), f"Not a directory: {out}")
    assert (world.root / "a-file").read_text() == "x"


@pytest.mark.parametrize("which, expected", [
    ("gan_checkpoint", "is a 'gan' checkpoint, this run trains 'dcgan'"),
    ("wide_checkpoint", "G does not match this network (unexpected net.7.bias, net.7.num_batches_tracked, "
                        "net.7.running_mean and 3 more); was it written for another variant or configuration?"),
    ("truncated", "is truncated, corrupt or not a safetensors file"),
])
def test_resume_from_a_checkpoint_that_does_not_fit(world, tmp_path, capsys, which, expected):
    run = tmp_path / "run"
    shutil.copytree(world.run, run)
    for _, path in RunDir(run).list_checkpoints():
        path.unlink()
    source = world.extra.get(which) or getattr(world, which)
    shutil.copy(source, run / "checkpoints/step_00000002.safetensors")
    before = _snapshot(run)
    _fails(capsys, ["train", "--resume", str(run), "--steps", "3", "-q"], expected)
    assert _snapshot(run) == before  # nothing renamed, truncated or written


def test_bad_samples(world, tmp_path, capsys):
    run = str(world.run)
    _fails(capsys, ["sample", run, "-n", "0"], "-n must be a positive integer, got 0")
    _fails(capsys, ["sample", run, "-n", "-3"], "-n must be a positive integer, got -3")
    _fails(capsys, ["sample", run, "-o", str(tmp_path / "grid.jpg")], "must end in .png (a grid) or / (a directory)")
    _fails(capsys, ["sample", run, "-o", str(tmp_path / "missing" / "grid.png")], "does not exist")
    _fails(capsys, ["sample", run, "-o", str(world.root / "a-file") + "/"], "exists and is not a directory")
    _fails(capsys, ["sample", str(world.root / "not-a-run"), "-o", str(tmp_path / "g.png")],
           "is not a ganzoo run directory")
    _fails(capsys, ["sample", str(world.images / "img_0000.png"), "-o", str(tmp_path / "g.png")],
           "is neither a run directory nor a .safetensors checkpoint")
    _fails(capsys, ["sample", str(world.extra["truncated"]), "-o", str(tmp_path / "g.png")],
           "is truncated, corrupt or not a safetensors file")
    _fails(capsys, ["sample", str(world.extra["misshapen"]), "-o", str(tmp_path / "g.png")],
           "G.net.0.weight has shape (16, ")  # the z_dim mismatch is named; widths follow dcgan's defaults
    _fails(capsys, ["sample", run, "--device", "nonsense", "-o", str(tmp_path / "g.png")], "unknown device")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_checkpoint_of_another_variant_samples_as_that_variant(world, tmp_path, capsys):
    """A checkpoint names its variant, so `ganzoo sample` builds that variant rather than failing."""
    out = tmp_path / "g.png"
    main(["sample", str(world.gan_checkpoint), "-n", "4", "-o", str(out)])
    assert out.is_file() and "from gan step 1" in capsys.readouterr().out


# --- plugins --------------------------------------------------------------------------------------------------------

BROKEN_PLUGINS = {
    "ganzoo_bad_import": "raise ImportError('needs a library that is not installed')\n",
    "ganzoo_bad_spec": (
        "import ganzoo\n\n"
        "@ganzoo.hookimpl\n"
        "def ganzoo_register_variants(register):\n"
        "    register(ganzoo.VariantSpec(name='half', summary='', generator=object, discriminator=object,\n"
        "                                loss='hinge', image_sizes=()))\n"),
}
DUPLICATE_PLUGIN = (
    "import ganzoo\n"
    "from ganzoo_plugins.vanilla import MLPDiscriminator, MLPGenerator\n\n"
    "@ganzoo.hookimpl\n"
    "def ganzoo_register_variants(register):\n"
    "    register(ganzoo.VariantSpec(name='gan', summary='a copy', generator=MLPGenerator,\n"
    "                                discriminator=MLPDiscriminator, loss='minimax'))\n")


def _site(tmp_path: Path, modules: dict[str, str]) -> Path:
    from helpers import make_distribution

    site = tmp_path / "site"
    for module, source in modules.items():
        make_distribution(site, module.replace("_", "-"), "0.1", {module.removeprefix("ganzoo_"): module},
                          {module: source})
    return site


def _python_m_ganzoo(args: list[str], site: Path | None = None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("GANZOO_DISABLE_PLUGINS", "GANZOO_PLUGINS")}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(site) if site else "")
    return subprocess.Popen([sys.executable, "-m", "ganzoo", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def test_in_a_real_process_errors_are_one_line_with_exit_code_2(world, tmp_path):
    """Broken plugins are one warning line each and skipped; the error after them is one line too."""
    site = _site(tmp_path, BROKEN_PLUGINS)
    out = tmp_path / "out"
    broken = f"folder:{world.extra['broken']}"
    with_plugins = _python_m_ganzoo(["train", "half", "--dataset", broken, "--out", str(out)], site)
    plain = _python_m_ganzoo(["train", "dcgan", "--dataset", broken, "--out", str(out)])  # both at once: faster

    stdout, stderr = with_plugins.communicate(timeout=300)
    assert with_plugins.returncode == 2 and stdout == ""
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr and len(lines) == 3, stderr
    assert lines[0] == ("warning: plugin 'bad_import' skipped: ImportError: needs a library that is not "
                        "installed")
    assert lines[1].startswith("warning: plugin 'bad_spec' skipped: PluginError: variant 'half': image variants "
                               "must list image_sizes and channels")
    assert lines[2].startswith("error: unknown variant 'half'")
    assert "plugins that failed to load: bad_import, bad_spec" in lines[2]

    stdout, stderr = plain.communicate(timeout=300)
    assert plain.returncode == 2 and stdout == ""
    assert stderr.startswith("error: cannot read image") and stderr.count("\n") == 1
    assert not out.exists()


def test_a_plugin_registering_a_taken_name_is_one_line_naming_both(tmp_path, capsys, monkeypatch):
    from ganzoo.plugins import reset

    site = _site(tmp_path, {"ganzoo_copycat": DUPLICATE_PLUGIN})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("GANZOO_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("GANZOO_PLUGINS", raising=False)
    reset()
    try:
        line = _fails(capsys, ["list"], "variant 'gan' is registered by two plugins")
        assert "'vanilla'" in line and "'copycat'" in line
    finally:
        reset()


def test_the_reliability_doc_cites_only_tests_that_exist():
    """docs/reliability.md maps each promise to a test; every cited test must exist under that name."""
    import ast
    import re

    repo = Path(__file__).resolve().parents[1]
    cited = set(re.findall(r"`(tests/\w+\.py)(?:::(\w+))?", (repo / "docs/reliability.md").read_text()))
    assert len(cited) > 30
    for file, name in cited:
        tree = ast.parse((repo / file).read_text())
        names = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert not name or name in names, f"{file}::{name}"


def test_small_mistakes_get_messages_that_say_what_to_do(world, capsys, monkeypatch):
    checkpoint = world.run / "checkpoints" / "step_00000002.safetensors"
    _fails(capsys, ["train", "--resume", str(checkpoint), "--steps", "3", "-q"],
           f"{checkpoint} is a file; resume takes the run directory ({world.run})")
    _fails(capsys, ["train", "--resume", str(world.gan_checkpoint), "--steps", "3", "-q"],
           f"{world.gan_checkpoint} is a file; resume takes a run directory")
    for inside in (world.run / "config.json", world.run / "checkpoints"):  # any path inside a run names the run
        _fails(capsys, ["train", "--resume", str(inside), "--steps", "3", "-q"],
               f"resume takes the run directory ({world.run})")
    monkeypatch.chdir(world.run / "checkpoints")
    _fails(capsys, ["train", "--resume", ".", "--steps", "3", "-q"], f"resume takes the run directory ({world.run})")
    monkeypatch.undo()
    _fails(capsys, ["export", str(world.run), str(world.root / "g.pdf"), "--format", "pdf"],
           "unknown exporter 'pdf'; known: hub, onnx, torchscript")
    _fails(capsys, ["fid", "mnist:bogus", str(world.images), "-q"],
           "unknown split 'bogus' in 'mnist:bogus': use mnist:train or mnist:test")
