"""Shell completion of variant names and pretrained weights, fast enough for a Tab press.

Knowing them means importing every plugin, and with them torch: seconds, on each Tab. So the names are cached
(variants with the data kinds each trains on, and the ``VARIANT/WEIGHTS`` names of registered pretrained weights)
under a fingerprint of what decides them: ganzoo's version,
the ``ganzoo`` entry points with their distributions' versions, the files that define them, and the environment
switches that limit which plugins load. All of it is read without importing a plugin; a change to any of it
rebuilds the cache on the next Tab.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

import click
from click.shell_completion import CompletionItem

from ganzoo.cache import cache_dir

ENTRY_POINT_GROUP = "ganzoo"  # the same group ganzoo.plugins loads, named here to keep this module torch-free


def _module_file(module: str) -> str:
    """The file that defines ``module`` and its modification time, found without importing anything."""
    top, *rest = module.split(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return ""
    if spec is None:
        return ""
    if not rest:
        path = Path(spec.origin) if spec.origin else None
    else:
        path = None
        for location in spec.submodule_search_locations or ():
            for candidate in (Path(location, *rest).with_suffix(".py"), Path(location, *rest, "__init__.py")):
                if candidate.is_file():
                    path = candidate
                    break
    try:
        return f"{path}:{path.stat().st_mtime_ns}" if path else ""
    except OSError:
        return ""


def plugins_fingerprint() -> str:
    """A digest that changes whenever the set of registered variants may have changed."""
    from ganzoo import __version__

    parts = [__version__, os.environ.get("GANZOO_PLUGINS", ""), os.environ.get("GANZOO_DISABLE_PLUGINS", "")]
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: (e.name, e.value)):
        dist = getattr(ep, "dist", None)
        name, version = (dist.metadata["Name"], dist.version) if dist else ("", "")
        parts += [ep.name, ep.value, name or "", version or "", _module_file(ep.module)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


class Names(TypedDict):
    """What completion knows: each variant with the data kinds it trains on, and every pretrained
    ``VARIANT/WEIGHTS`` name."""

    variants: dict[str, list[str]]
    pretrained: list[str]


def _registered_names() -> Names:
    """Every registered variant and pretrained weights name (imports every plugin)."""
    from ganzoo.plugins import PluginLoadWarning, get_registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        registry = get_registry()
        return {"variants": {name: list(registry.variant(name).data_kinds) for name in registry.names("variant")},
                "pretrained": registry.names("pretrained")}


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _valid(stored: object) -> bool:
    """Whether a cache file's content has the shape :class:`Names` promises (anything else is rebuilt)."""
    if not isinstance(stored, dict):
        return False
    variants, pretrained = stored.get("variants"), stored.get("pretrained")
    return (isinstance(variants, dict) and all(isinstance(k, str) and _is_str_list(v) for k, v in variants.items())
            and _is_str_list(pretrained))


def known_names(cache: Path | None = None) -> Names:
    """The registered names, from the cache when its fingerprint still holds and its content is well formed."""
    cache = cache or cache_dir("completion", "names.json")
    fingerprint = plugins_fingerprint()
    try:
        stored = json.loads(cache.read_text())
        if _valid(stored) and stored.get("fingerprint") == fingerprint:
            return {"variants": stored["variants"], "pretrained": stored["pretrained"]}
    except (OSError, ValueError):
        pass
    names = _registered_names()
    from ganzoo.engine.checkpoint import atomic_write  # torch is loaded by now: the plugins imported it

    text = json.dumps({"fingerprint": fingerprint, **names})
    with contextlib.suppress(OSError):  # a read-only cache only makes the next Tab slow again
        atomic_write(cache, lambda tmp: Path(tmp).write_text(text))
    return names


def _known_or_nothing() -> Names:
    """:func:`known_names`, or nothing at all: a completion must not print to the terminal, so plugins that fail to
    load are skipped silently and a broken environment completes nothing."""
    try:
        return known_names()
    except Exception:  # noqa: BLE001 - completing nothing beats a traceback in the middle of a command line
        return {"variants": {}, "pretrained": []}


Completer = Callable[[click.Context, click.Parameter, str], list]


def variant_completer(data_kind: str | None = None) -> Completer:
    """A click ``shell_complete`` callback for a VARIANT argument: the variants (those that train on
    ``data_kind``, e.g. "points", when given) whose names start with what has been typed."""

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
        variants = _known_or_nothing()["variants"]
        return [name for name, kinds in sorted(variants.items())
                if name.startswith(incomplete) and (data_kind is None or data_kind in kinds)]

    return complete


PRETRAINED_SCHEME = "pretrained:"  # ganzoo.pretrained's scheme, named here to keep this module torch-free


def _named_variants(ctx: click.Context) -> list[str]:
    """The variant names already on the command line. While an option still waits for its value, click stops
    before filling in the positional arguments, so those are read from ``ctx.args`` then."""
    named = ctx.params.get("source") or ctx.params.get("names") or ctx.args
    return [named] if isinstance(named, str) else list(named)


def _weights_by_variant() -> dict[str, set[str]]:
    weights: dict[str, set[str]] = {}
    for name in _known_or_nothing()["pretrained"]:
        variant, _, weight = name.partition("/")
        weights.setdefault(variant, set()).add(weight)
    return weights


def source_completer(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """A click ``shell_complete`` callback for a SOURCE of weights: the shell's own file names (run directories,
    checkpoints), and ``pretrained:VARIANT/WEIGHTS`` names once what has been typed could start one and no file
    name does (bash shows files only when nothing else matches). With ``--pretrained WEIGHTS`` already given,
    SOURCE is a variant: those that have these weights."""
    weights = ctx.params.get("pretrained") if ctx is not None else None
    if weights:
        return [CompletionItem(variant) for variant, names in sorted(_weights_by_variant().items())
                if weights in names and variant.startswith(incomplete)]
    items = [CompletionItem(incomplete, type="file")]
    typed_scheme = incomplete.startswith(PRETRAINED_SCHEME)
    starts_scheme = bool(incomplete) and PRETRAINED_SCHEME.startswith(incomplete)
    if typed_scheme or (starts_scheme and not glob.glob(glob.escape(incomplete) + "*")):
        names = [PRETRAINED_SCHEME + name for name in _known_or_nothing()["pretrained"]]
        items += [CompletionItem(name) for name in names if name.startswith(incomplete)]
    return items


def weights_completer(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """A click ``shell_complete`` callback for ``--pretrained WEIGHTS``: the weights every variant already on the
    command line has (``ganzoo bench`` needs them for each), or any registered weights when none is named."""
    by_variant = _weights_by_variant()
    named = _named_variants(ctx)
    if named:
        available = set.intersection(*(by_variant.get(variant, set()) for variant in named))
    else:
        available = set().union(*by_variant.values())
    return sorted(weight for weight in available if weight.startswith(incomplete))
