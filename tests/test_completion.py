"""Shell completion of variant names and pretrained weights: cached under a fingerprint of the installed plugins,
rebuilt when it moves."""

from __future__ import annotations

import os
from pathlib import Path

import click
import pytest

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
    cache = tmp_path / "variants.json"
    assert completion.known_names(cache) == completion.known_names(cache) == {
        "variants": {"dcgan": ["image"], "gan": ["image", "points"]},
        "pretrained": ["dcgan/mnist", "dcgan/fashion", "gan/mnist"]}
    assert len(counted) == 1 and cache.is_file()


def test_the_cache_is_rebuilt_when_the_plugins_may_have_changed(tmp_path: Path, counted: list[int],
                                                                monkeypatch: pytest.MonkeyPatch):
    cache = tmp_path / "variants.json"
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


def _values(items) -> list[tuple[str, str]]:
    return [(item.type, item.value) for item in items]


def test_a_weights_source_completes_pretrained_names_and_files(counted: list[int], monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path))
    assert _values(completion.source_completer(None, None, "pre")) == [
        ("file", "pre"), ("plain", "pretrained:dcgan/mnist"), ("plain", "pretrained:dcgan/fashion"),
        ("plain", "pretrained:gan/mnist")]
    assert _values(completion.source_completer(None, None, "pretrained:dcgan/m")) == [
        ("file", "pretrained:dcgan/m"), ("plain", "pretrained:dcgan/mnist")]
    assert _values(completion.source_completer(None, None, "runs/")) == [("file", "runs/")]  # a path: the shell's
    assert len(counted) == 1  # a path alone never needed the plugins


def test_pretrained_weights_complete_for_the_variants_on_the_line(counted: list[int],
                                                                  monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path))
    ctx = click.Context(click.Command("sample"))
    ctx.params = {"source": "dcgan"}
    assert completion.weights_completer(ctx, None, "") == ["fashion", "mnist"]
    ctx.params = {"names": ("gan",)}
    assert completion.weights_completer(ctx, None, "") == ["mnist"]
    ctx.params = {}
    assert completion.weights_completer(ctx, None, "f") == ["fashion"]


def test_a_broken_environment_completes_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    def broken() -> dict:
        raise RuntimeError("a plugin that cannot import")

    monkeypatch.setattr(completion, "_registered_names", broken)
    monkeypatch.setenv("GANZOO_CACHE", str(tmp_path))
    assert completion.variant_completer()(None, None, "") == []
    assert _values(completion.source_completer(None, None, "pre")) == [("file", "pre")]
