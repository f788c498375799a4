"""A plugin implementing a hook ganzoo does not define is skipped like one that fails to import."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import ModuleType

import pytest
from helpers import make_distribution

import ganzoo
from ganzoo.cli import main
from ganzoo.errors import UnknownNameError
from ganzoo.plugins import PluginLoadWarning, Plugins, get_plugins, reset

# a module as an entry point names it: one valid hook, one misspelt (the real hook ends in "s")
TYPO_PLUGIN = '''
import ganzoo


@ganzoo.hookimpl
def ganzoo_register_variants(register):
    register(ganzoo.VariantSpec(name="typo-gan", summary="never registered", generator=object,
                                discriminator=object, loss="hinge"))


@ganzoo.hookimpl
def ganzoo_register_variant(register):
    pass
'''


@pytest.fixture(scope="module")
def gan_spec() -> ganzoo.VariantSpec:
    return get_plugins().build_registry().variant("gan")


def _module(name: str, **hooks) -> ModuleType:
    module = ModuleType(name)
    for hook_name, fn in hooks.items():
        setattr(module, hook_name, fn if hasattr(fn, "ganzoo_impl") else ganzoo.hookimpl(fn))
    return module


def test_misspelt_hook_skips_only_that_plugin(gan_spec):
    good = _module("good", ganzoo_register_variants=lambda register: register(gan_spec))
    mine = dataclasses.replace(gan_spec, name="typo-gan")
    typo = _module("typo", ganzoo_register_variants=lambda register: register(mine),
                   ganzoo_register_variant=lambda register: None)
    plugins = Plugins()
    plugins.add(good, "good")
    plugins.add(typo, "typo")
    plugins.manager.check_pending()  # what made every command fail: nothing unknown is left registered
    assert plugins.manager.get_plugin("typo") is None
    assert plugins.infos["typo"].error == ("unknown hook 'ganzoo_register_variant'; "
                                           "did you mean 'ganzoo_register_variants'?")
    with pytest.warns(PluginLoadWarning, match="'typo'.*skipped: unknown hook 'ganzoo_register_variant'"):
        registry = plugins.build_registry()
    assert registry.names("variant") == ["gan"]  # nothing the plugin registered through its valid hook is kept
    assert registry.load_errors == {"typo": plugins.infos["typo"].error}
    with pytest.raises(UnknownNameError, match="failed to load: typo"):
        registry.variant("typo-gan")


def test_a_second_plugin_under_a_taken_name_is_skipped_and_the_first_keeps_its_record(gan_spec):
    first = _module("first", ganzoo_register_variants=lambda register: register(gan_spec))
    second = _module("second", ganzoo_register_variants=lambda register: None)
    plugins = Plugins()
    plugins.add(first, "mine")
    plugins.add(second, "mine")
    assert plugins.manager.get_plugin("mine") is first
    assert plugins.infos["mine"].module == "first" and plugins.infos["mine"].error == ""
    assert plugins.infos["mine (second)"].error == "plugin name 'mine' is already used by first"
    with pytest.warns(PluginLoadWarning, match="'mine [(]second[)]'.*already used by first"):
        registry = plugins.build_registry()
    assert registry.names("variant") == ["gan"] and plugins.infos["mine"].registered == {"variant": ["gan"]}


def test_a_name_whose_first_plugin_failed_goes_to_the_next_and_the_failure_stays_on_record(gan_spec):
    broken = _module("broken", ganzoo_register_variant=lambda register: None)  # misspelt hook
    working = _module("working", ganzoo_register_variants=lambda register: register(gan_spec))
    plugins = Plugins()
    plugins.add(broken, "mine")
    plugins.add(working, "mine")
    assert plugins.manager.get_plugin("mine") is working
    assert plugins.infos["mine"].module == "working" and plugins.infos["mine"].error == ""
    assert "unknown hook 'ganzoo_register_variant'" in plugins.infos["mine (broken)"].error
    with pytest.warns(PluginLoadWarning, match="'mine [(]broken[)]'"):
        assert plugins.build_registry().names("variant") == ["gan"]


def test_unknown_hook_with_no_near_name_points_at_optionalhook():
    plugins = Plugins()
    plugins.add(_module("odd", frobnicate=lambda register: None), "odd")
    error = plugins.infos["odd"].error
    assert error.startswith("unknown hook 'frobnicate' (") and "did you mean" not in error
    assert "optionalhook=True" in error


def test_optional_hook_without_a_spec_still_loads(gan_spec):
    later = ganzoo.hookimpl(optionalhook=True)(lambda register: None)
    module = _module("future", ganzoo_register_samplers=later,
                     ganzoo_register_variants=lambda register: register(gan_spec))
    plugins = Plugins()
    plugins.add(module, "future")
    plugins.manager.check_pending()
    assert plugins.infos["future"].error == ""
    assert plugins.build_registry().names("variant") == ["gan"]


@pytest.fixture
def typo_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A distribution whose entry point names a module with a misspelt hook, importable in this process."""
    site = make_distribution(tmp_path / "site", "ganzoo-typo", "0.1", {"typo": "ganzoo_typo_hook_plugin"},
                             {"ganzoo_typo_hook_plugin": TYPO_PLUGIN})
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("GANZOO_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("GANZOO_PLUGINS", raising=False)
    reset()
    yield site
    reset()  # the next get_plugins() rebuilds without the site, once monkeypatch restores sys.path


def test_misspelt_hook_in_an_entry_point_plugin_leaves_commands_working(typo_site, capsys):
    plugins = Plugins()
    plugins.load_entry_points()  # raised PluginValidationError from check_pending before
    assert plugins.infos["typo"].distribution == "ganzoo-typo"
    assert "did you mean 'ganzoo_register_variants'" in plugins.infos["typo"].error

    main(["list", "--json"])
    out, err = capsys.readouterr()
    names = {row["name"] for row in json.loads(out)}
    assert {"gan", "dcgan"} <= names and "typo-gan" not in names
    assert err == ("warning: plugin 'typo' skipped: unknown hook 'ganzoo_register_variant'; "
                   "did you mean 'ganzoo_register_variants'?\n")

    main(["plugins", "--json"])
    infos = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert "unknown hook 'ganzoo_register_variant'" in infos["typo"]["error"]
    assert infos["typo"]["registered"] == {} and infos["dcgan"]["registered"] == {"variant": ["dcgan"]}
