"""The example third-party plugin in docs/plugins/ganzoo-example is found through its entry point, listed, trained
and tested with ganzoo.testing, and a plugin that breaks on import is isolated. Nothing is pip-installed: a
``*.dist-info`` directory with the package's metadata and entry points on PYTHONPATH is what an install leaves behind,
and all importlib.metadata needs to see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_image_folder

tomllib = pytest.importorskip("tomllib")

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "plugins" / "ganzoo-example"
BROKEN_ERROR = "this plugin is broken on purpose"


def _dist_info(site: Path, name: str, version: str, entry_points: dict[str, str]) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = "".join(f"{key} = {value}\n" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[ganzoo]\n{lines}")


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """An environment where ganzoo-example (from its source tree) and a broken plugin look installed."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    site = tmp_path_factory.mktemp("site")
    _dist_info(site, project["name"], project["version"], project["entry-points"]["ganzoo"])
    (site / "ganzoo_broken.py").write_text(f"raise RuntimeError({BROKEN_ERROR!r})\n")
    _dist_info(site, "ganzoo-broken", "0.0.1", {"broken": "ganzoo_broken"})
    env = dict(os.environ)
    env.pop("GANZOO_DISABLE_PLUGINS", None)
    env.pop("GANZOO_PLUGINS", None)
    path = [str(site), str(EXAMPLE / "src"), env.get("PYTHONPATH", "")]
    env.update(PYTHONPATH=os.pathsep.join(p for p in path if p), OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def _run(args: list[str], env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result


def test_example_variant_is_listed_beside_the_builtins(plugin_env: dict[str, str]) -> None:
    result = _run(["-m", "ganzoo", "list", "--json"], plugin_env)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["example-rsgan"]["plugin"] == "example"
    assert rows["example-rsgan"]["loss"] == "relativistic"
    assert {"dcgan", "wgan", "wgan-gp", "sngan", "lsgan"} <= set(rows)
    assert "broken" in result.stderr and BROKEN_ERROR in result.stderr  # reported, not fatal


def test_broken_plugin_is_recorded_and_the_others_load(plugin_env: dict[str, str]) -> None:
    script = """
import json, warnings
import ganzoo
from ganzoo.plugins import get_plugins
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    variants = ganzoo.list_variants()
infos = get_plugins().infos
print(json.dumps({
    "variants": variants,
    "example": [infos["example"].distribution, infos["example"].version, infos["example"].error,
                infos["example"].registered],
    "broken": [infos["broken"].distribution, infos["broken"].error],
    "warnings": [str(w.message) for w in caught],
}))
"""
    out = json.loads(_run(["-c", script], plugin_env).stdout.strip().splitlines()[-1])
    assert {"example-rsgan", "dcgan", "wgan-gp"} <= set(out["variants"])
    assert out["example"] == ["ganzoo-example", "0.1.0", "", {"loss": ["relativistic"], "regulariser": ["drift"],
                                                                "variant": ["example-crsgan", "example-rsgan"]}]
    assert out["broken"] == ["ganzoo-broken", f"RuntimeError: {BROKEN_ERROR}"]
    assert any("broken" in w and BROKEN_ERROR in w for w in out["warnings"])


@pytest.mark.slow
def test_example_variant_trains_for_two_steps(plugin_env: dict[str, str], tmp_path: Path) -> None:
    images = make_image_folder(tmp_path / "images", n=12, size=16)
    run = tmp_path / "run"
    _run(["-m", "ganzoo", "train", "example-rsgan", "--out", str(run), "--steps", "2", "--batch-size", "4",
          "--image-size", "16", "--dataset", f"folder:{images}", "--sample-every", "1", "--checkpoint-every", "1",
          "--device", "cpu", "-q"], plugin_env)
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "step_00000001.safetensors", "step_00000002.safetensors"]
    assert json.loads((run / "config.json").read_text())["loss"] == "relativistic"


@pytest.mark.slow
def test_example_plugin_passes_its_own_contract_tests(plugin_env: dict[str, str]) -> None:
    """The plugin's own suite: ``contract_tests("example-*")`` and the ganzoo_registry fixture."""
    result = _run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], plugin_env, cwd=EXAMPLE)
    assert " passed" in result.stdout and "failed" not in result.stdout
    # 2 variants x 2 channel counts x 7 checks, plus the three plugin-specific tests
    assert "31 passed" in result.stdout, result.stdout


@pytest.mark.slow
def test_a_regulariser_from_an_outside_package_joins_any_variant(plugin_env: dict[str, str], tmp_path: Path) -> None:
    run = tmp_path / "run"
    _run(["-m", "ganzoo", "train", "wgan-gp", "--dataset", "ring8", "--reg", "drift=0.001", "--steps", "2",
          "--batch-size", "8", "--out", str(run), "--device", "cpu", "-q"], plugin_env)
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    assert all(r["drift"] >= 0 and r["gradient_penalty"] >= 0 for r in rows)  # both penalties applied and logged
    config = json.loads((run / "config.json").read_text())
    assert config["regularisers"] == {"gradient_penalty": 10.0, "drift": 0.001}


# --- docs/plugins.md stays true -----------------------------------------------------------------------------------

PLUGINS_DOC = EXAMPLE.parent.parent / "plugins.md"


def test_plugins_doc_shows_the_example_files_verbatim() -> None:
    import re

    doc = PLUGINS_DOC.read_text()
    shown = re.findall(r"<!-- file: (\S+) -->\n`[^`]+`:\n\n```\w*\n(.*?)```\n", doc, flags=re.S)
    root = EXAMPLE.parent.parent.parent
    assert {path for path, _ in shown} >= {
        "docs/plugins/ganzoo-example/pyproject.toml", "docs/plugins/ganzoo-example/src/ganzoo_example/__init__.py",
        "docs/plugins/ganzoo-example/src/ganzoo_example/loss.py",
        "docs/plugins/ganzoo-example/src/ganzoo_example/nets.py",
        "docs/plugins/ganzoo-example/src/ganzoo_example/drift.py",
        "docs/plugins/ganzoo-example/src/ganzoo_example/conditional.py"}
    for path, text in shown:
        assert text == (root / path).read_text(), f"docs/plugins.md shows an outdated copy of {path}"


def test_plugins_doc_documents_every_hook_with_its_signature() -> None:
    import inspect

    from ganzoo import hookspecs

    doc = PLUGINS_DOC.read_text()
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(fn, "ganzoo_spec")]
    assert hooks, "no hookspecs found"
    for name in hooks:
        annotations = dict(getattr(hookspecs, name).__annotations__)
        returns = annotations.pop("return")
        params = ", ".join(f"{p}: {a}" for p, a in annotations.items())
        assert f"### `{name}`" in doc
        assert f"def {name}({params}) -> {returns}" in doc


def test_plugins_doc_documents_the_environment_switches() -> None:
    from ganzoo import plugins

    doc = PLUGINS_DOC.read_text()
    for switch in ("GANZOO_DISABLE_PLUGINS", "GANZOO_PLUGINS"):
        assert switch in plugins.__doc__ and f"`{switch}=" in doc
