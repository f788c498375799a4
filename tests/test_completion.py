"""Shell completion of variant names: cached under a fingerprint of the installed plugins, rebuilt when it moves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ganzoo.cli import completion


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Stand in for importing every plugin, counting how often it happens."""
    calls: list[int] = []

    def registered() -> dict[str, list[str]]:
        calls.append(1)
        return {"dcgan": ["image"], "gan": ["image", "points"]}

    monkeypatch.setattr(completion, "_registered_variants", registered)
    return calls


def test_the_second_tab_reads_the_cache_instead_of_importing_plugins(tmp_path: Path, counted: list[int]):
    cache = tmp_path / "variants.json"
    assert completion.known_variants(cache) == completion.known_variants(cache) == {
        "dcgan": ["image"], "gan": ["image", "points"]}
    assert len(counted) == 1 and cache.is_file()


def test_the_cache_is_rebuilt_when_the_plugins_may_have_changed(tmp_path: Path, counted: list[int],
                                                                monkeypatch: pytest.MonkeyPatch):
    cache = tmp_path / "variants.json"
    completion.known_variants(cache)
    monkeypatch.setenv("GANZOO_DISABLE_PLUGINS", "all")
    completion.known_variants(cache)
    assert len(counted) == 2
    cache.write_text("{not json")  # a damaged cache is rebuilt, not an error
    completion.known_variants(cache)
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
