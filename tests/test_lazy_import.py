"""``import ganzoo`` is cheap: torch loads on first use of a name that needs it, so ``ganzoo --help`` is fast."""

from __future__ import annotations

import json
import subprocess
import sys

import ganzoo

_PROBE = """
import json, sys
from ganzoo.cli import cli
for args in ([], ["train"], ["sample"], ["bench"], ["fid"], ["export"]):
    try:
        cli.main(args=[*args, "--help"], prog_name="ganzoo", standalone_mode=False)
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in ("torch", "numpy", "scipy", "matplotlib", "PIL") if m in sys.modules)))
"""


def test_help_imports_no_heavy_module() -> None:
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_every_public_name_resolves() -> None:
    assert set(ganzoo.__all__) <= set(dir(ganzoo))
    for name in ganzoo.__all__:
        assert getattr(ganzoo, name) is not None, name
    namespace: dict = {}
    exec("from ganzoo import *", namespace)
    assert {"VariantSpec", "hookimpl", "train"} <= set(namespace)


def test_hookimpl_is_the_pluggy_marker() -> None:
    import pluggy

    assert isinstance(ganzoo.hookimpl, pluggy.HookimplMarker)
    assert ganzoo.hookimpl.project_name == "ganzoo"


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        ganzoo.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_shell_completion_answers() -> None:
    """docs/cli.md documents click's completion; the entry point must hand the request to click."""
    import os

    env = {**os.environ, "_GANZOO_COMPLETE": "bash_complete", "COMP_WORDS": "ganzoo sample --trun", "COMP_CWORD": "2"}
    result = subprocess.run([sys.executable, "-c", "from ganzoo.cli import main; main()"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["plain,--truncation"]


def test_submodules_are_attributes_as_before() -> None:
    code = "import ganzoo; print(ganzoo.api.sample is ganzoo.sample, ganzoo.data.ArrayData.__name__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["True", "ArrayData"], result.stderr
