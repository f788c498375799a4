"""Plugin discovery: the entry-point group ``ganzoo``, failure isolation, and the registry built from the hooks.

Environment switches, in the style of pytest's ``PYTEST_DISABLE_PLUGIN_AUTOLOAD``:

- ``GANZOO_DISABLE_PLUGINS=1`` loads only the plugins shipped with ganzoo itself; a comma-separated list of
  entry-point names (``GANZOO_DISABLE_PLUGINS=mypkg,dcgan``) skips just those.
- ``GANZOO_PLUGINS=a,b`` is an allow-list: of the third-party plugins, only ``a`` and ``b`` load.

Plugins are Python code and run with the user's rights when imported; these switches are the way to limit what runs.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import os
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from types import ModuleType
from typing import Any

import pluggy

from ganzoo import hookspecs
from ganzoo.errors import PluginError
from ganzoo.registry import Registry
from ganzoo.specs import (
    DatasetSpec,
    ExporterSpec,
    ExtractorSpec,
    LabLayerSpec,
    LoggerSpec,
    LossSpec,
    PretrainedSpec,
    RegulariserSpec,
    VariantSpec,
)

ENTRY_POINT_GROUP = "ganzoo"
BUILTIN_DISTRIBUTION = "ganzoo"

_HOOKS: dict[str, type] = {
    "ganzoo_register_variants": VariantSpec,
    "ganzoo_register_losses": LossSpec,
    "ganzoo_register_regularisers": RegulariserSpec,
    "ganzoo_register_datasets": DatasetSpec,
    "ganzoo_register_extractors": ExtractorSpec,
    "ganzoo_register_loggers": LoggerSpec,
    "ganzoo_register_exporters": ExporterSpec,
    "ganzoo_register_pretrained": PretrainedSpec,
    "ganzoo_register_lab_layers": LabLayerSpec,
}


@dataclass
class PluginInfo:
    """One discovered plugin: where it came from and whether it loaded."""

    name: str
    module: str
    distribution: str = ""
    version: str = ""
    error: str = ""  # why it was skipped; empty when it loaded
    registered: dict[str, list[str]] = field(default_factory=dict)

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION


class PluginLoadWarning(UserWarning):
    """A plugin could not be loaded and was skipped."""


def _env_list(name: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def _allowed(ep: importlib.metadata.EntryPoint, dist_name: str) -> bool:
    disabled = _env_list("GANZOO_DISABLE_PLUGINS")
    builtin = dist_name == BUILTIN_DISTRIBUTION
    if any(d.lower() in ("1", "true", "yes", "all") for d in disabled) and not builtin:
        return False
    if ep.name in disabled or (dist_name and dist_name in disabled):
        return False
    allow = _env_list("GANZOO_PLUGINS")
    return not (allow and not builtin and ep.name not in allow and dist_name not in allow)


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    seen: set[tuple[str, str]] = set()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        # the same distribution visible twice on sys.path (an editable install plus a build dir) is one plugin
        key = (ep.name, ep.value)
        if key not in seen:
            seen.add(key)
            yield ep


class Plugins:
    """A pluggy manager plus what was discovered; the registry is built from its hooks."""

    def __init__(self) -> None:
        self.manager = pluggy.PluginManager("ganzoo")
        self.manager.add_hookspecs(hookspecs)
        self.infos: dict[str, PluginInfo] = {}
        self.disabled: list[str] = []  # "name (distribution)" of each plugin the environment switches left out

    def add(self, plugin: ModuleType | Any, name: str, distribution: str = "", version: str = "") -> None:
        """Register a plugin object (normally a module) under ``name``.

        One that pluggy refuses, that implements a hook ganzoo does not define (a misspelt name), or whose name is
        taken, is left unregistered and its error recorded, so that it is skipped like a plugin that fails to import.
        """
        info = PluginInfo(name=name, module=getattr(plugin, "__name__", repr(plugin)),
                          distribution=distribution, version=version)
        if name in self.infos:
            if self.manager.get_plugin(name) is not None:  # a registered plugin keeps its name and its record
                info.error = f"plugin name {name!r} is already used by {self.infos[name].module}"
                self.infos[f"{name} ({info.module})"] = info
                return
            earlier = self.infos.pop(name)  # one that failed to load gives the name up; its record stays
            self.infos[f"{name} ({earlier.module})"] = earlier
        self.infos[name] = info
        try:
            self.manager.register(plugin, name=name)
            info.error = self._unknown_hooks(plugin)
        except Exception as exc:  # noqa: BLE001 - pluggy validation errors come in several types
            info.error = f"{type(exc).__name__}: {exc}"
        # an older pluggy can leave a plugin half-registered when a later hook fails validation; the identity check
        # keeps a refused duplicate name from unregistering the plugin that owns it
        if info.error and self.manager.get_plugin(name) is plugin:
            self.manager.unregister(plugin, name=name)

    def _unknown_hooks(self, plugin: object) -> str:
        """Why ``plugin`` cannot load because of hooks without a hookspec (empty when none). Those marked
        ``optionalhook=True`` are allowed, as pluggy's ``check_pending`` allows them."""
        callers = self.manager.get_hookcallers(plugin) or []
        unknown = sorted(caller.name for caller in callers if not caller.has_spec() and any(
            impl.plugin is plugin and not impl.optionalhook for impl in caller.get_hookimpls()))
        known = [name for name, caller in vars(self.manager.hook).items()
                 if not name.startswith("_") and caller.has_spec()]
        return "; ".join(_unknown_hook_message(hook, known) for hook in unknown)

    def load_entry_points(self) -> None:
        """Import every allowed plugin of the ``ganzoo`` entry-point group; one that fails is skipped."""
        for ep in _entry_points():
            dist = getattr(ep, "dist", None)
            dist_name = dist.metadata["Name"] if dist is not None else ""
            version = dist.version if dist is not None else ""
            if not _allowed(ep, dist_name):
                self.disabled.append(f"{ep.name} ({dist_name})" if dist_name else ep.name)
                continue
            if ep.name in self.infos:
                self.infos[ep.name + f" ({dist_name})"] = PluginInfo(
                    ep.name, ep.value, dist_name, version,
                    error=f"entry-point name {ep.name!r} is already used by {self.infos[ep.name].distribution}")
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # noqa: BLE001 - isolate any failure in third-party code
                self.infos[ep.name] = PluginInfo(ep.name, ep.value, dist_name, version,
                                                 error=f"{type(exc).__name__}: {exc}")
                continue
            self.add(plugin, ep.name, dist_name, version)
        self.manager.check_pending()

    def build_registry(self, strict: bool = True) -> Registry:
        """Call every registration hook, one plugin at a time, and collect what they register.

        A plugin whose hook raises or registers a malformed spec is skipped as a whole (nothing it registered is
        kept). Two plugins registering the same name raise :class:`PluginError` naming both; with
        ``strict=False`` (for ``ganzoo plugins``, to diagnose it) the later plugin's spec is dropped and the
        conflict recorded as that plugin's error instead.
        """
        registry = Registry()
        registry.disabled = list(self.disabled)
        for name, info in self.infos.items():
            if info.error:
                continue
            staged: list[Any] = []
            try:
                for hook_name, spec_type in _HOOKS.items():
                    for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
                        if impl.plugin_name == name:
                            impl.function(register=_stager(staged, spec_type, name))
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the others down
                info.error = f"{type(exc).__name__}: {exc}"
                continue
            for spec in staged:
                try:
                    registry.add(spec, name)
                except PluginError as exc:
                    if getattr(exc, "plugins", None) is None:
                        raise
                    # suggest disabling the third-party plugin rather than a built-in
                    culprit = next((p for p in reversed(exc.plugins) if not self.infos[p].builtin), exc.plugins[1])
                    message = f"{exc}; disable one with GANZOO_DISABLE_PLUGINS={culprit}"
                    if strict:
                        raise PluginError(message) from None
                    info.error = message
        for plugin_name, kinds in registry.by_plugin().items():
            self.infos[plugin_name].registered = kinds
        for name, info in self.infos.items():
            if info.error:
                registry.load_errors[name] = info.error
                warnings.warn(f"ganzoo plugin {name!r} ({info.module}) skipped: {info.error}",
                              PluginLoadWarning, stacklevel=2)
        return registry


def _hook_stem(name: str) -> str:
    return name.removeprefix("ganzoo_").removeprefix("register_")


def _unknown_hook_message(hook: str, known: Iterable[str]) -> str:
    """'unknown hook ...' with the nearest known hook, or a word on ``optionalhook`` when none is near."""
    known = list(known)
    stems = {_hook_stem(name): name for name in known}
    # every hook shares "ganzoo_register_", so whole names all look alike to difflib: compare what follows it,
    # and whole names only for a near-exact match (a typo inside the prefix)
    close = [stems[stem] for stem in difflib.get_close_matches(_hook_stem(hook), list(stems), n=1, cutoff=0.75)]
    close = close or difflib.get_close_matches(hook, known, n=1, cutoff=0.9)
    if close:
        return f"unknown hook {hook!r}; did you mean {close[0]!r}?"
    return f"unknown hook {hook!r} (if it is a newer ganzoo's, mark it @ganzoo.hookimpl(optionalhook=True))"


def _stager(staged: list[Any], spec_type: type, plugin: str):
    def register(spec: Any) -> None:
        if not isinstance(spec, spec_type):
            raise PluginError(
                f"plugin {plugin!r} passed {type(spec).__name__} to a hook that takes {spec_type.__name__}")
        staged.append(spec)

    return register


@lru_cache(maxsize=1)
def get_plugins() -> Plugins:
    """The process-wide plugin manager, loaded from entry points on first use."""
    plugins = Plugins()
    plugins.load_entry_points()
    return plugins


@lru_cache(maxsize=1)
def get_registry() -> Registry:
    """The process-wide registry built from :func:`get_plugins`."""
    return get_plugins().build_registry()


def reset() -> None:
    """Forget the cached plugin manager and registry (for tests and after changing the env switches)."""
    get_registry.cache_clear()
    get_plugins.cache_clear()
