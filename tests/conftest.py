"""Shared fixtures: an isolated cache per test session, tiny image folders, a registry with test plugins."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from helpers import make_image_folder


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """Reference statistics and converted weights go to a per-session cache, never the user's."""
    old = os.environ.get("GANZOO_CACHE")
    os.environ["GANZOO_CACHE"] = str(tmp_path_factory.mktemp("ganzoo-cache"))
    yield
    if old is None:
        os.environ.pop("GANZOO_CACHE", None)
    else:
        os.environ["GANZOO_CACHE"] = old


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    return make_image_folder(tmp_path / "images")


@pytest.fixture
def python_subprocess_env() -> dict[str, str]:
    """Environment for ``python -m ganzoo`` subprocesses: same interpreter, one thread, no colour."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", NO_COLOR="1")
    env.setdefault("PYTHONPATH", "")
    env["GANZOO_PYTHON"] = sys.executable
    return env
