"""A variant's network options (widths, ...): the defaults a run is built with, recorded in its config so it is
rebuilt the same way, overridable with --net, and runs from before the options existed still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import make_image_folder

import ganzoo
from ganzoo.cli import main


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_image_folder(tmp_path_factory.mktemp("data") / "images", n=24, size=32)


def _options(run: Path) -> dict:
    return json.loads((run / "config.json").read_text())["network"]


def test_a_run_records_and_reuses_its_network_options(folder, tmp_path):
    from ganzoo.plugins import get_registry

    defaults = get_registry().variant("dcgan").defaults.network
    run = ganzoo.train("dcgan", tmp_path / "run", dataset=f"folder:{folder}", steps=1, batch_size=8, device="cpu")
    assert _options(run.root) == defaults
    g, _ = ganzoo.create("dcgan")
    loaded = ganzoo.load(run.root)
    assert [p.shape for p in loaded.generator.parameters()] == [p.shape for p in g.parameters()]


def test_net_options_change_the_networks_and_survive_a_resume(folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert _cli("train", "dcgan", "--dataset", f"folder:{folder}", "--steps", "1", "--batch-size", "8", "--net",
                "g_width=8", "--net", "d_width=16", "--net", "output_bias=true", "--out", str(out), "-q") == 0
    assert _options(out) | {"g_width": 8, "d_width": 16, "output_bias": True} == _options(out)
    loaded = ganzoo.load(out)
    assert loaded.generator.net[-2].bias is not None
    assert loaded.discriminator.net[0].out_channels == 16
    assert _cli("train", "--resume", str(out), "--steps", "2", "-q") == 0
    assert ganzoo.load(out).step == 2 and ganzoo.load(out).discriminator.net[0].out_channels == 16


@pytest.mark.parametrize(("edit", "message"), [
    ("g_width", "is not KEY=VALUE"), ("g_width=wide", "is not a JSON value"),
    ("depth=3", "variant 'dcgan' has no network option 'depth'; "
                "its options: d_width, g_width, output_bias, width"),
    ("g_widht=3", "variant 'dcgan' has no network option 'g_widht'; did you mean 'g_width'?"),
    ('output_bias="false"', 'variant \'dcgan\': network option \'output_bias\' takes true or false, got "false"'),
    ("output_bias=1", "variant 'dcgan': network option 'output_bias' takes true or false, got 1"),
    ("g_width=1.5", "variant 'dcgan': network option 'g_width' takes an integer or null, got 1.5"),
    ('g_width="64"', 'variant \'dcgan\': network option \'g_width\' takes an integer or null, got "64"'),
])
def test_bad_net_options_are_one_line_errors(folder, tmp_path, capsys, edit, message):
    out = tmp_path / "run"
    code = _cli("train", "dcgan", "--dataset", f"folder:{folder}", "--steps", "1", "--batch-size", "8", "--net", edit,
                "--out", str(out))
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and not out.exists()


def test_a_checkpoint_from_before_network_options_loads_with_the_builders_own_defaults(folder, tmp_path):
    """Runs written before ganzoo recorded network options (no "network" key) were built with the network builders'
    own defaults; loading them must not apply today's variant defaults."""
    from ganzoo.engine import checkpoint as ckpt

    run = ganzoo.train("dcgan", tmp_path / "run", dataset=f"folder:{folder}", steps=1, batch_size=8, device="cpu",
                       network={})  # the builders' own defaults, as every run was built before
    path = run.list_checkpoints()[-1][1]
    tensors, meta = ckpt.load_tensors(path)
    config = json.loads(meta["config"])
    del config["network"]  # what an old run's config holds
    meta = {k: v for k, v in meta.items() if k not in ("format", "sha256", "meta_sha256")}
    ckpt.save_tensors(path, tensors, {**meta, "config": json.dumps(config)})
    loaded = ganzoo.load(path)
    assert loaded.step == 1
    plain_g, _ = ganzoo.create("dcgan", width=None, g_width=None, d_width=None, output_bias=False)
    assert [p.shape for p in loaded.generator.parameters()] == [p.shape for p in plain_g.parameters()]


def _cli(*args: str) -> int:
    try:
        main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_create_applies_the_variant_defaults_and_the_callers_options_on_top() -> None:
    g8, d8 = ganzoo.create("dcgan", width=8, g_width=None, d_width=None)
    assert d8.net[0].out_channels == 8 and g8.net[-2].out_channels == 1
    g, _ = ganzoo.create("dcgan", g_width=16)
    assert g.net[-2].in_channels == 16
    with torch.no_grad():
        assert g(torch.zeros(2, g.z_dim)).shape == (2, 1, 32, 32)


def test_info_lists_the_options_net_can_set(capsys) -> None:
    assert _cli("info", "dcgan") == 0
    assert "--net options:  d_width=null, g_width=64, output_bias=false, width=null" in capsys.readouterr().out
