"""Trained weights as model folders: the Hub layout written by ``export --format hub`` and read back by
``ganzoo.load``; weights a third-party package ships through ``ganzoo_register_pretrained``; ``hf://`` sources from a
local Hugging Face cache with the network off; every shipped card checked against its files and its sample grid."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import labelled_blobs_plugin, make_image_folder, pixel_stats_plugin, registry_with

import ganzoo
from ganzoo.errors import CheckpointError, ConfigError, GanzooError
from ganzoo.plugins import get_registry
from ganzoo.pretrained import MODEL_FILE, model_path, sha256, verify, write_model

TINY = {"g_width": 8, "d_width": 8}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A dcgan run of 3 steps on 32 px images, with its EMA generator."""
    root = tmp_path_factory.mktemp("pretrained")
    images = make_image_folder(root / "images", n=120)
    ganzoo.train("dcgan", root / "run", dataset=f"folder:{images}", steps=3, batch_size=8, image_size=32,
                 network=TINY, fid_every=0, device="cpu")
    return root / "run"


def _samples(run: ganzoo.LoadedRun) -> torch.Tensor:
    return ganzoo.sample(run, 6, seed=4)


def test_hub_folder_round_trip_is_exact_in_float32(tiny_run, tmp_path):
    folder = ganzoo.export(tiny_run, tmp_path / "model", format="hub", dtype="float32")
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", MODEL_FILE]
    config = json.loads((folder / "config.json").read_text())
    assert config["variant"] == "dcgan" and config["data_shape"] == [1, 32, 32] and config["library"] == "ganzoo"
    assert config["config"]["network"] == TINY
    assert "library_name: ganzoo" in (folder / "README.md").read_text()
    original, loaded = ganzoo.load(tiny_run), ganzoo.load(folder)
    assert loaded.spec.name == "dcgan" and loaded.ema_generator is not None
    assert torch.equal(_samples(original), _samples(loaded))
    for a, b in zip(original.discriminator.state_dict().values(), loaded.discriminator.state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)


def test_float16_folder_is_half_the_size_and_close(tiny_run, tmp_path):
    full = ganzoo.export(tiny_run, tmp_path / "f32", format="hub", dtype="float32")
    half = ganzoo.export(tiny_run, tmp_path / "f16", format="hub")  # float16 by default
    assert (half / MODEL_FILE).stat().st_size < 0.6 * (full / MODEL_FILE).stat().st_size
    a, b = _samples(ganzoo.load(full)), _samples(ganzoo.load(half))
    assert b.dtype == torch.float32 and (a - b).abs().max() < 0.05


def test_a_sampler_only_folder_samples_and_fine_tunes_as_the_ema_generator(tiny_run, tmp_path):
    """ganzoo's shipped layout: the EMA generator stored as G, and D, without the raw G; it samples exactly as the
    run did, and --init starts G and its EMA from it."""
    run = ganzoo.load(tiny_run)
    full = write_model(run, tmp_path / "full", torch.float32)
    slim = write_model(run, tmp_path / "slim", torch.float32, sampler_only=True)
    assert (slim / MODEL_FILE).stat().st_size < 0.7 * (full / MODEL_FILE).stat().st_size
    assert json.loads((slim / "config.json").read_text())["generator"] == "ema"
    assert "exponential moving average (what is sampled" in (slim / "README.md").read_text()
    loaded = ganzoo.load(slim)
    assert loaded.ema_generator is None and torch.equal(_samples(loaded), _samples(run))
    from ganzoo.engine import TrainConfig, Trainer
    from ganzoo.engine.rundir import RunDir

    options = {"dataset": run.config.dataset, "batch_size": 8, "image_size": 32, "network": TINY, "fid_every": 0}
    trainer = Trainer(TrainConfig("dcgan", init=str(slim), device="cpu", **options), RunDir(tmp_path / "t"),
                      get_registry())
    for mine, theirs in ((trainer.G, run.ema_generator), (trainer.ema.module, run.ema_generator),
                         (trainer.D, run.discriminator)):
        for (key, a), b in zip(mine.state_dict().items(), theirs.state_dict().values(), strict=True):
            assert torch.equal(a, b), key


def test_export_hub_refuses_a_non_empty_folder_and_keeps_it(tiny_run, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not an empty folder"):
        ganzoo.export(tiny_run, out, format="hub")
    assert (out / "mine.txt").read_text() == "keep me"
    with pytest.raises(ConfigError, match="hf://OWNER/NAME"):
        ganzoo.export(tiny_run, tmp_path / "x", format="hub", push="owner-only")


def test_card_hashes_are_checked(tiny_run, tmp_path):
    folder = write_model(ganzoo.load(tiny_run), tmp_path / "carded", card={"variant": "dcgan", "weights": "t"})
    card = json.loads((folder / "card.json").read_text())
    assert card["sha256"][MODEL_FILE] == sha256(folder / MODEL_FILE)
    assert verify(folder) == card["sha256"]
    (folder / "README.md").write_text("edited")
    with pytest.raises(CheckpointError, match="README.md does not match"):
        verify(folder)


def _weights_package(site: Path, run: Path, installed: bool = True) -> None:
    """A package ``ganzoo_weights_demo`` that ships dcgan weights ``tiny`` as package data (``installed``: with
    the entry point an install leaves behind)."""
    package = site / "ganzoo_weights_demo"
    (package / "weights").mkdir(parents=True)
    write_model(ganzoo.load(run), package / "weights" / "tiny", dtype=torch.float32)
    (package / "__init__.py").write_text(
        "import ganzoo\n\n\n@ganzoo.hookimpl\ndef ganzoo_register_pretrained(register):\n"
        "    register(ganzoo.PretrainedSpec('dcgan', 'tiny', 'ganzoo_weights_demo:weights/tiny',\n"
        "                                   summary='3 steps on random images', scores={'fid': 123.0}))\n")
    if not installed:
        return
    info = site / "ganzoo_weights_demo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ganzoo-weights-demo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganzoo]\nweights_demo = ganzoo_weights_demo\n")


@pytest.fixture(scope="module")
def weights_env(tiny_run, tmp_path_factory) -> dict[str, str]:
    site = tmp_path_factory.mktemp("site")
    _weights_package(site, tiny_run)
    env = {k: v for k, v in os.environ.items() if k not in ("GANZOO_DISABLE_PLUGINS", "GANZOO_PLUGINS")}
    env.update(PYTHONPATH=os.pathsep.join(p for p in (str(site), env.get("PYTHONPATH", "")) if p),
               OMP_NUM_THREADS="1")
    return env


def _cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_a_plugin_ships_weights_that_list_info_and_sample_use(weights_env, tiny_run, tmp_path):
    listed = _cli(["list", "--json"], weights_env, tmp_path)
    assert listed.returncode == 0, listed.stderr
    row = {r["name"]: r for r in json.loads(listed.stdout)}["dcgan"]
    assert any(w["name"] == "tiny" and w["scores"] == {"fid": 123.0} for w in row["pretrained"])
    info = _cli(["info", "dcgan"], weights_env, tmp_path)
    assert "tiny: 3 steps on random images" in info.stdout

    grid = tmp_path / "grid.png"
    sampled = _cli(["sample", "dcgan", "--pretrained", "tiny", "-n", "16", "-o", str(grid)], weights_env, tmp_path)
    assert sampled.returncode == 0, sampled.stderr
    assert grid.stat().st_size > 0

    missing = _cli(["sample", "dcgan", "--pretrained", "nope", "-o", str(tmp_path / "x.png")], weights_env, tmp_path)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    message = missing.stderr.strip().splitlines()[-1]
    assert "nope" in message and "tiny" in message  # says what exists


def test_plugin_weights_through_the_python_api(tiny_run, tmp_path):
    site = tmp_path / "site"
    _weights_package(site, tiny_run, installed=False)
    sys.path.insert(0, str(site))
    try:
        import importlib

        module = importlib.import_module("ganzoo_weights_demo")
        registry = registry_with(module, pixel_stats_plugin())
        g, d = ganzoo.create("dcgan", pretrained="tiny", registry=registry)
        run = ganzoo.load("pretrained:dcgan/tiny", registry=registry)
        z = torch.randn(4, g.z_dim, generator=torch.Generator().manual_seed(0))
        assert torch.equal(g(z), run.sampler(z)) and not g.training
        assert torch.equal(_samples(run), _samples(ganzoo.load(tiny_run)))
        with pytest.raises(GanzooError, match="dcgan has: .*tiny"):
            ganzoo.create("dcgan", pretrained="other", registry=registry)
        with pytest.raises(ConfigError, match="give only the name"):
            ganzoo.create("dcgan", pretrained="tiny", width=8, registry=registry)

        # bench scores the weights without training, and fine-tuning starts from them
        images = ganzoo.load(tiny_run).config.dataset
        result = ganzoo.bench(registry=registry, run="pretrained:dcgan/tiny", num_samples=16, dataset=images,
                              extractors=("pixel-stats",), out=str(tmp_path / "bench"))
        assert result.metrics["train"]["steps"] == run.step
        assert result.metrics["scores"]["pixel-stats"]["final"]["fid"] is not None
        tuned = ganzoo.train("dcgan", tmp_path / "tuned", dataset=images, steps=1, batch_size=8, image_size=32,
                             network=TINY, fid_every=0, init="pretrained:dcgan/tiny", registry=registry)
        assert tuned.root.is_dir()
        with pytest.raises(ConfigError, match="network options"):
            ganzoo.train("dcgan", tmp_path / "bad", dataset=images, steps=1, batch_size=8, image_size=32,
                         fid_every=0, init="pretrained:dcgan/tiny", registry=registry)
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("ganzoo_weights_demo", None)


def test_init_from_a_run_directory_and_resume_without_the_source(tiny_run, tmp_path):
    """--init takes a run directory (its newest checkpoint); the new run records it as an absolute path and resumes
    from its own checkpoints even after the source is gone."""
    source = tmp_path / "source"
    shutil.copytree(tiny_run, source)
    dataset = ganzoo.load(tiny_run).config.dataset
    options = {"dataset": dataset, "batch_size": 8, "image_size": 32, "network": TINY, "fid_every": 0}
    tuned = ganzoo.train("dcgan", tmp_path / "tuned", steps=2, init=source, **options)
    recorded = json.loads((tuned.root / "config.json").read_text())["init"]
    assert recorded == str(source.resolve())
    start = ganzoo.load(source)
    from ganzoo.engine import TrainConfig, Trainer
    from ganzoo.engine.rundir import RunDir

    trainer = Trainer(TrainConfig("dcgan", init=str(source), device="cpu", **options), RunDir(tmp_path / "t"),
                      get_registry())
    for mine, theirs in ((trainer.G, start.generator), (trainer.D, start.discriminator),
                         (trainer.ema.module, start.ema_generator)):
        for (key, a), b in zip(mine.state_dict().items(), theirs.state_dict().values(), strict=True):
            assert torch.equal(a, b), key
    shutil.rmtree(source)
    ganzoo.train("dcgan", tmp_path / "tuned", resume=True, steps=3)
    assert ganzoo.load(tmp_path / "tuned").step == 3 and start.step == 3


def test_a_conditional_model_folder_keeps_its_classes(tmp_path):
    registry = registry_with(labelled_blobs_plugin())
    ganzoo.train("cgan", tmp_path / "run", dataset="blobs", steps=2, batch_size=8, fid_every=0, network=TINY,
                 registry=registry)
    folder = ganzoo.export(tmp_path / "run", tmp_path / "model", format="hub", dtype="float32", registry=registry)
    run = ganzoo.load(folder, registry=registry)
    assert run.num_classes == 3 and run.class_names == ("blob0", "blob1", "blob2")
    original = ganzoo.load(tmp_path / "run", registry=registry)
    assert torch.equal(ganzoo.sample(run, 6, labels=2), ganzoo.sample(original, 6, labels=2))
    config = json.loads((folder / "config.json").read_text())
    assert config["num_classes"] == 3 and config["class_names"] == ["blob0", "blob1", "blob2"]


def _populate_hub_cache(cache: Path, repo: str, folder: Path) -> None:
    """Lay ``folder`` out in a Hugging Face cache as huggingface_hub does: blobs, a snapshot, refs/main."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    root = cache / f"models--{repo.replace('/', '--')}"
    snapshot = root / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (root / "blobs").mkdir()
    for path in folder.iterdir():
        blob = root / "blobs" / sha256(path)
        shutil.copyfile(path, blob)
        (snapshot / path.name).symlink_to(os.path.relpath(blob, snapshot))
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit)


def test_hf_sources_read_a_local_hub_cache_offline(tiny_run, tmp_path, monkeypatch):
    pytest.importorskip("huggingface_hub")
    cache = tmp_path / "hf-cache"
    folder = ganzoo.export(tiny_run, tmp_path / "model", format="hub", dtype="float32")
    _populate_hub_cache(cache, "someone/tiny-dcgan", folder)
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    grid = tmp_path / "grid.png"
    result = _cli(["sample", "hf://someone/tiny-dcgan", "-n", "4", "-o", str(grid)], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert grid.is_file()
    missing = _cli(["sample", "hf://someone/absent", "-o", str(tmp_path / "y.png")], env, tmp_path)
    assert missing.returncode != 0 and "Traceback" not in missing.stderr
    assert "hf://someone/absent" in missing.stderr.strip().splitlines()[-1]

    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    assert torch.equal(_samples(ganzoo.load("hf://someone/tiny-dcgan")), _samples(ganzoo.load(tiny_run)))


def test_hf_sources_without_the_extra_say_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'ganzoo\[hub\]'"):
        ganzoo.load("hf://someone/tiny-dcgan")
    with pytest.raises(ConfigError, match="not hf://OWNER/NAME"):
        model_path("hf://no-slash", get_registry())


SHIPPED = sorted((Path(__file__).resolve().parent.parent / "plugins" / "weights").glob("*/card.json"))


@pytest.mark.parametrize("card_path", SHIPPED, ids=[p.parent.name for p in SHIPPED])
def test_every_shipped_card_matches_its_files_and_grid(card_path):
    """sha256 of each file; loading the weights gives the card's sample grid bit for bit; size limits."""
    folder = card_path.parent
    card = json.loads(card_path.read_text())
    verify(folder)
    assert sum(p.stat().st_size for p in folder.iterdir()) <= 5 * 2**20
    for key in ("variant", "weights", "command", "seed", "ganzoo_version", "commit", "machine", "steps",
                "train_seconds", "scores", "num_samples"):
        assert key in card, key
    run = ganzoo.load(f"pretrained:{card['variant']}/{card['weights']}")
    from ganzoo.pretrained import card_grid

    grid = card_grid(run, card)
    if _cpu_name() == card["machine"].get("processor"):
        assert grid == (folder / "samples.png").read_bytes()
    else:  # other CPUs round some float sums differently: a pixel may move by one grey level, rarely
        from PIL import Image

        ours, theirs = (torch.from_numpy(np.asarray(Image.open(io.BytesIO(b))).astype("int16"))
                        for b in (grid, (folder / "samples.png").read_bytes()))
        assert ours.shape == theirs.shape and (ours - theirs).abs().max() <= 1
        assert (ours != theirs).float().mean() < 1e-3


def _cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return ""


def test_ganzoo_ships_dcgan_weights():
    assert "dcgan-mnist" in [p.parent.name for p in SHIPPED]


def test_shipped_weights_stay_within_the_total_budget():
    total = sum(p.stat().st_size for card in SHIPPED for p in card.parent.iterdir())
    assert total <= 30 * 2**20
