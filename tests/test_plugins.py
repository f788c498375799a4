"""Plugin discovery: entry points, isolation of broken plugins, duplicate names, the environment switches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from helpers import make_distribution

import ganzoo
from ganzoo.errors import PluginError, UnknownNameError
from ganzoo.plugins import Plugins, get_plugins

TINY_VARIANT = '''
import torch
import ganzoo


class TinyG(ganzoo.Generator):
    def __init__(self, z_dim=8, data_shape=(1, 28, 28)):
        super().__init__(z_dim, data_shape)
        self.fc = torch.nn.Linear(z_dim, 28 * 28)

    def forward(self, z):
        return torch.tanh(self.fc(z)).view(-1, *self.data_shape)


class TinyD(ganzoo.Discriminator):
    def __init__(self, data_shape=(1, 28, 28)):
        super().__init__(data_shape)
        self.fc = torch.nn.Linear(28 * 28, 1)

    def forward(self, x):
        return self.fc(x.flatten(1)).squeeze(1)


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    register(ganzoo.VariantSpec(name="{name}", summary="a third-party test variant", generator=TinyG,
                                discriminator=TinyD, loss="non_saturating", image_sizes=(28,), channels=(1,),
                                defaults=ganzoo.TrainDefaults(z_dim=8, image_size=28, batch_size=8)))
'''


def _run(args: list[str], site: Path, **env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("GANZOO_DISABLE_PLUGINS", "GANZOO_PLUGINS")}
    env.update(PYTHONPATH=str(site), OMP_NUM_THREADS="1", **env_extra)
    return subprocess.run([sys.executable, "-m", "ganzoo", *args], capture_output=True, text=True, env=env,
                          timeout=120)


@pytest.fixture
def third_party_site(tmp_path: Path) -> Path:
    """Two third-party distributions: one good plugin and one that raises on import."""
    site = tmp_path / "site"
    make_distribution(site, "ganzoo-tiny", "1.2.3", {"tiny": "ganzoo_tiny"},
                      {"ganzoo_tiny": TINY_VARIANT.replace("{name}", "tiny-gan")})
    make_distribution(site, "ganzoo-broken", "0.1", {"broken": "ganzoo_broken"},
                      {"ganzoo_broken": "raise RuntimeError('this plugin is broken on purpose')\n"})
    return site


def test_third_party_plugin_is_discovered_and_a_broken_one_is_isolated(third_party_site: Path):
    listed = _run(["list", "--json"], third_party_site)
    assert listed.returncode == 0, listed.stderr
    names = {row["name"]: row for row in json.loads(listed.stdout)}
    assert names["tiny-gan"]["plugin"] == "tiny"
    assert {"dcgan", "gan"} <= set(names)  # built-ins keep working
    assert "broken" in listed.stderr and "broken on purpose" in listed.stderr
    assert len(listed.stderr.strip().splitlines()) == 1  # one warning line, no traceback

    shown = _run(["plugins", "--json"], third_party_site)
    infos = {p["name"]: p for p in json.loads(shown.stdout)}
    assert infos["tiny"]["distribution"] == "ganzoo-tiny" and infos["tiny"]["version"] == "1.2.3"
    assert infos["tiny"]["registered"] == {"variant": ["tiny-gan"]}
    assert "RuntimeError" in infos["broken"]["error"]
    assert infos["dcgan"]["builtin"] and not infos["tiny"]["builtin"]


def test_environment_switches_limit_what_loads(third_party_site: Path):
    off = _run(["list", "--json"], third_party_site, GANZOO_DISABLE_PLUGINS="1")
    names = {row["name"] for row in json.loads(off.stdout)}
    assert "tiny-gan" not in names and {"dcgan", "gan"} <= names
    assert "broken" not in off.stderr

    allow = _run(["list", "--json"], third_party_site, GANZOO_PLUGINS="tiny")
    names = {row["name"] for row in json.loads(allow.stdout)}
    assert "tiny-gan" in names and "broken" not in allow.stderr

    skip_builtin = _run(["list", "--json"], third_party_site, GANZOO_DISABLE_PLUGINS="dcgan,broken")
    names = {row["name"] for row in json.loads(skip_builtin.stdout)}
    assert "dcgan" not in names and "tiny-gan" in names


def test_duplicate_name_is_an_error_naming_both_plugins(tmp_path: Path):
    site = make_distribution(tmp_path / "site", "ganzoo-clash", "2.0", {"clash": "ganzoo_clash"},
                             {"ganzoo_clash": TINY_VARIANT.replace("{name}", "dcgan")})
    result = _run(["list"], site)
    assert result.returncode == 2
    assert result.stderr.startswith("error: variant 'dcgan' is registered by two plugins")
    assert "'dcgan'" in result.stderr and "'clash'" in result.stderr
    assert "GANZOO_DISABLE_PLUGINS=clash" in result.stderr  # the third-party one, not the built-in
    assert "Traceback" not in result.stderr

    diagnosis = _run(["plugins", "--json"], site)  # still works, to show what clashes
    assert diagnosis.returncode == 0, diagnosis.stderr
    infos = {p["name"]: p for p in json.loads(diagnosis.stdout)}
    assert "registered by two plugins" in infos["clash"]["error"]
    assert infos["dcgan"]["registered"] == {"variant": ["dcgan"]}


def _module(name: str, **hooks) -> ModuleType:
    module = ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, ganzoo.hookimpl(fn))
    return module


def _plugins(*modules: ModuleType) -> Plugins:
    plugins = Plugins()
    for module in modules:
        plugins.add(module, module.__name__)
    return plugins


def test_duplicate_within_one_process_raises_plugin_error():
    spec = get_plugins().build_registry().variant("gan")
    first = _module("first", ganzoo_register_variants=lambda register: register(spec))
    second = _module("second", ganzoo_register_variants=lambda register: register(spec))
    with pytest.raises(PluginError, match="'first' and 'second'"):
        _plugins(first, second).build_registry()


def test_malformed_spec_and_raising_hook_skip_only_that_plugin():
    good_spec = get_plugins().build_registry().variant("gan")
    good = _module("good", ganzoo_register_variants=lambda register: register(good_spec))
    wrong_type = _module("wrong_type", ganzoo_register_variants=lambda register: register({"name": "x"}))

    def raising(register):
        register(ganzoo.VariantSpec(name="half", summary="", generator=object, discriminator=object,
                                    loss="hinge", image_sizes=()))

    malformed = _module("malformed", ganzoo_register_variants=raising)
    plugins = _plugins(good, wrong_type, malformed)
    with pytest.warns(UserWarning, match="skipped"):
        registry = plugins.build_registry()
    assert registry.names("variant") == ["gan"]
    assert "not a ganzoo spec" in registry.load_errors["wrong_type"] or "VariantSpec" in registry.load_errors[
        "wrong_type"]
    assert "image_sizes" in registry.load_errors["malformed"]
    with pytest.raises(UnknownNameError, match="failed to load: malformed, wrong_type"):
        registry.variant("half")


def test_builtins_register_through_the_ganzoo_entry_point_group():
    import importlib.metadata

    eps = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="ganzoo")}
    infos = get_plugins().infos
    for name in ("vanilla", "dcgan", "losses", "datasets"):
        assert eps[name].startswith("ganzoo_plugins."), name
        assert infos[name].builtin and not infos[name].error
    registry = get_plugins().build_registry()
    assert registry.entry("variant", "dcgan").plugin == "dcgan"
    assert registry.entry("variant", "gan").plugin == "vanilla"


def test_unknown_names_suggest_close_matches():
    with pytest.raises(UnknownNameError, match="did you mean 'dcgan'"):
        ganzoo.create("dcgna")
    assert ganzoo.list_variants("dc*") == ["dcgan"]


def test_shell_completion_offers_every_variant_a_plugin_registers(third_party_site: Path):
    def complete(words: str) -> list[str]:
        done = _run([], third_party_site, _GANZOO_COMPLETE="bash_complete", COMP_WORDS=words,
                    COMP_CWORD=str(len(words.split(" ")) - 1))
        assert done.returncode == 0 and done.stderr == "", done.stderr  # the broken plugin stays silent
        return [line.split(",", 1)[1] for line in done.stdout.splitlines() if line]

    assert complete("ganzoo train ti") == ["tiny-gan"]
    assert complete("ganzoo bench dcgan w") == ["wgan", "wgan-gp"]
    assert "tiny-gan" in complete("ganzoo info ")
    lab = complete("ganzoo lab ")  # the lab trains on 2-D points: image-only variants are not offered
    assert "gan" in lab and "tiny-gan" not in lab and "dcgan" not in lab
    assert complete("ganzoo sample dcgan --pretrained ") == ["mnist"]  # the weights ganzoo ships for dcgan
    assert complete("ganzoo sample tiny-gan --pretrained ") == []  # a variant without weights offers none
    assert "tiny-gan" not in complete("ganzoo sample --pretrained mnist ") and "dcgan" in complete(
        "ganzoo sample --pretrained mnist ")
    assert "pretrained:dcgan/mnist" in complete("ganzoo sample pretrained:d")


@pytest.mark.parametrize(("name", "message"), [
    ("MyGAN", "variant name must be lowercase, got 'MyGAN'"),
    ("my gan", "without spaces or ':'"), ("my:gan", "without spaces or ':'"),
])
def test_a_variant_name_is_one_lowercase_word(name: str, message: str):
    from ganzoo_plugins.dcgan import DCGANDiscriminator, DCGANGenerator

    with pytest.raises(PluginError, match=message):
        ganzoo.VariantSpec(name=name, summary="", generator=DCGANGenerator, discriminator=DCGANDiscriminator,
                           loss="non_saturating")
