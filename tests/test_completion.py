"""Shell completion of variant names and pretrained weights: cached under a fingerprint of the installed plugins,
rebuilt when it moves."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
import pytest
from click.shell_completion import CompletionItem

from ganzoo.cli import completion


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Stand in for importing every plugin, counting how often it happens."""
    calls: list[int] = []

    def registered() -> dict:
        calls.append(1)
        return {"variants": {"dcgan": ["image"], "gan": ["image", "points"]},
                "pretrained": ["dcgan/mnist", "dcgan/fashion", "gan/mnist"]}

    monkeypatch.setattr(completion, "_registered_names", registered)
    return calls


def test_the_second_tab_reads_the_cache_instead_of_importing_plugins(tmp_path: Path, counted: list[int]):
    cache = tmp_path / "names.json"
    assert completion.known_names(cache) == completion.known_names(cache) == {
        "variants": {"dcgan": ["image"], "gan": ["image", "points"]},
        "pretrained": ["dcgan/mnist", "dcgan/fashion", "gan/mnist"]}
    assert len(counted) == 1 and cache.is_file()


def test_the_cache_is_rebuilt_when_the_plugins_may_have_changed(tmp_path: Path, counted: list[int],
                                                                monkeypatch: pytest.MonkeyPatch):
    cache = tmp_path / "names.json"
    completion.known_names(cache)
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "all")
    completion.known_names(cache)
    assert len(counted) == 2
    cache.write_text("{not json")  # a damaged cache is rebuilt, not an error
    completion.known_names(cache)
    assert len(counted) == 3


def test_editing_a_plugin_file_changes_the_fingerprint():
    source = Path(completion._module_file("ganzoo_plugins.dcgan").rsplit(":", 1)[0])
    assert source.name == "dcgan.py"
    before = completion.plugins_fingerprint()
    stat = source.stat()
    try:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        assert completion.plugins_fingerprint() != before
    finally:
        os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert completion.plugins_fingerprint() == before


def test_completion_filters_by_prefix_and_data_kind(counted: list[int], monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path))
    assert completion.variant_completer()(None, None, "g") == ["gan"]
    assert completion.variant_completer()(None, None, "") == ["dcgan", "gan"]
    assert completion.variant_completer("points")(None, None, "") == ["gan"]


def _values(items: list[CompletionItem]) -> list[tuple[str, str]]:
    return [(item.type, item.value) for item in items]


def test_a_cache_of_the_wrong_shape_is_rebuilt_not_trusted(tmp_path: Path, counted: list[int]):
    cache = tmp_path / "names.json"
    fingerprint = completion.plugins_fingerprint()
    for damaged in ({"variants": {"gan": None}, "pretrained": []}, {"variants": {}, "pretrained": [1]},
                    {"variants": {}, "pretrained": "dcgan/mnist"}, {"variants": []}):
        cache.write_text(json.dumps({"fingerprint": fingerprint, **damaged}))
        assert completion.known_names(cache)["pretrained"] == ["dcgan/mnist", "dcgan/fashion", "gan/mnist"]
    assert len(counted) == 4


def test_a_weights_source_completes_files_and_pretrained_names(counted: list[int], monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    assert _values(completion.source_completer(None, None, "runs/")) == [("file", "runs/")]
    assert counted == []  # a path alone never needs the plugins
    assert _values(completion.source_completer(None, None, "pre")) == [
        ("file", "pre"), ("plain", "pretrained:dcgan/mnist"), ("plain", "pretrained:dcgan/fashion"),
        ("plain", "pretrained:gan/mnist")]
    assert _values(completion.source_completer(None, None, "pretrained:dcgan/m")) == [
        ("file", "pretrained:dcgan/m"), ("plain", "pretrained:dcgan/mnist")]
    (tmp_path / "presets").mkdir()  # bash shows files only when nothing else matches: a matching file wins
    assert _values(completion.source_completer(None, None, "pre")) == [("file", "pre")]
    assert len(counted) == 1


def _context(params: dict, args: list[str] | None = None) -> click.Context:
    ctx = click.Context(click.Command("sample"))
    ctx.params, ctx.args = params, args or []
    return ctx


def test_pretrained_weights_complete_for_the_variants_on_the_line(counted: list[int],
                                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path))
    assert completion.weights_completer(_context({"source": "dcgan"}), None, "") == ["fashion", "mnist"]
    # `ganzoo sample dcgan --pretrained <Tab>`: click leaves the positional words unparsed in ctx.args
    assert completion.weights_completer(_context({"source": None}, ["dcgan"]), None, "") == ["fashion", "mnist"]
    assert completion.weights_completer(_context({"names": ()}, ["nosuch"]), None, "") == []
    # bench needs the weights for every variant it names
    assert completion.weights_completer(_context({"names": ()}, ["gan", "dcgan"]), None, "") == ["mnist"]
    assert completion.weights_completer(_context({}), None, "f") == ["fashion"]
    # `ganzoo sample --pretrained fashion <Tab>`: SOURCE is then a variant that has those weights
    assert _values(completion.source_completer(_context({"pretrained": "fashion"}), None, "")) == [("plain", "dcgan")]


def test_a_broken_environment_completes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    def broken() -> dict:
        raise RuntimeError("a plugin that cannot import")

    monkeypatch.setattr(completion, "_registered_names", broken)
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert completion.variant_completer()(None, None, "") == []
    assert _values(completion.source_completer(None, None, "pre")) == [("file", "pre")]
    assert completion.weights_completer(_context({"source": "dcgan"}), None, "") == []


def test_the_scheme_matches_the_one_ganzoo_pretrained_reads():
    from ganzoo.pretrained import PRETRAINED

    assert completion.PRETRAINED_SCHEME == PRETRAINED
