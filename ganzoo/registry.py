"""The name lookup over what plugins registered (the specs themselves are :mod:`ganzoo.specs`)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any

from ganzoo.errors import PluginError, UnknownNameError
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


@dataclass(frozen=True)
class Registered:
    """A spec and the plugin that registered it."""

    spec: Any
    plugin: str


_SPEC_KINDS: dict[type, str] = {
    VariantSpec: "variant",
    LossSpec: "loss",
    RegulariserSpec: "regulariser",
    DatasetSpec: "dataset",
    ExtractorSpec: "extractor",
    LoggerSpec: "logger",
    ExporterSpec: "exporter",
    PretrainedSpec: "pretrained",
    LabLayerSpec: "lab layer",
}


class Registry:
    """All registered specs by kind and name. Built by :func:`ganzoo.plugins.build_registry`."""

    def __init__(self) -> None:
        self._items: dict[str, dict[str, Registered]] = {kind: {} for kind in _SPEC_KINDS.values()}
        self.load_errors: dict[str, str] = {}  # plugin name -> why it was skipped
        self.disabled: list[str] = []  # plugins GANZOO_DISABLE_PLUGINS / GANZOO_PLUGINS left out, "name (dist)"

    def add(self, spec: Any, plugin: str) -> None:
        """Add ``spec`` registered by ``plugin``; a name already taken raises :class:`PluginError`."""
        kind = _SPEC_KINDS.get(type(spec))
        if kind is None:
            raise PluginError(f"plugin {plugin!r} registered {type(spec).__name__}, not a ganzoo spec")
        table = self._items[kind]
        if spec.name in table:
            error = PluginError(f"{kind} {spec.name!r} is registered by two plugins, {table[spec.name].plugin!r} "
                                f"and {plugin!r}")
            error.plugins = (table[spec.name].plugin, plugin)
            raise error
        table[spec.name] = Registered(spec, plugin)

    def kinds(self) -> list[str]:
        """Every kind of spec a registry holds ("variant", "loss", ...)."""
        return list(self._items)

    def names(self, kind: str, pattern: str = "*") -> list[str]:
        """Sorted names of ``kind`` matching the glob ``pattern``."""
        return sorted(n for n in self._items[kind] if fnmatch.fnmatchcase(n, pattern))

    def entry(self, kind: str, name: str) -> Registered:
        """The registered spec and plugin for ``name``; unknown names raise with a 'did you mean'."""
        table = self._items[kind]
        if name in table:
            return table[name]
        hint = ""
        if self.load_errors:
            hint = "plugins that failed to load: " + ", ".join(sorted(self.load_errors)) + "; see `ganzoo plugins`"
        if self.disabled:  # the name is most likely theirs: say so rather than suggest a look-alike
            same = [n for n in table if n.casefold() == name.casefold()]  # ...unless it differs only in case
            raise UnknownNameError(kind, name, same, f"it may come from a plugin that is disabled: "
                               f"{', '.join(self.disabled)}, left out by GANZOO_DISABLE_PLUGINS or GANZOO_PLUGINS; "
                               "unset them to load every plugin" + (f"; {hint}" if hint else ""))
        raise UnknownNameError(kind, name, table, hint)

    def specs(self, kind: str) -> list[Any]:
        """Every spec of ``kind``, in the order the plugins registered them."""
        return [entry.spec for entry in self._items[kind].values()]

    def get(self, kind: str, name: str) -> Any:
        """The spec registered under ``name``."""
        return self.entry(kind, name).spec

    def by_plugin(self) -> dict[str, dict[str, list[str]]]:
        """plugin -> kind -> names it registered."""
        out: dict[str, dict[str, list[str]]] = {}
        for kind, table in self._items.items():
            for name, reg in sorted(table.items()):
                out.setdefault(reg.plugin, {}).setdefault(kind, []).append(name)
        return out

    def variant(self, name: str) -> VariantSpec:
        return self.get("variant", name)

    def loss(self, name: str) -> LossSpec:
        return self.get("loss", name)

    def regulariser(self, name: str) -> RegulariserSpec:
        return self.get("regulariser", name)

    def dataset(self, name: str) -> DatasetSpec:
        return self.get("dataset", name)

    def extractor(self, name: str) -> ExtractorSpec:
        return self.get("extractor", name)

    def logger(self, name: str) -> LoggerSpec:
        return self.get("logger", name)

    def exporter(self, name: str) -> ExporterSpec:
        return self.get("exporter", name)

    def pretrained(self, variant: str, weights: str) -> PretrainedSpec:
        """The weights ``weights`` of ``variant``; unknown ones raise listing every weights that exist."""
        key = f"{variant}/{weights}"
        if key in self._items["pretrained"]:
            return self._items["pretrained"][key].spec
        self.variant(variant)  # an unknown variant fails here, with a suggestion
        known = self.names("pretrained")
        mine = [k.split("/", 1)[1] for k in known if k.startswith(f"{variant}/")]
        hint = (f"{variant} has: {', '.join(mine)}" if mine
                else f"{variant} has none; installed: {', '.join(known)}" if known
                else "no pretrained weights are installed")
        # the hint lists every weights of the variant: suggest only one that differs in letter case
        same = [f"{variant}/{w}" for w in mine if w.casefold() == weights.casefold()]
        raise UnknownNameError("pretrained weights", key, same, hint)

    def lab_layer(self, name: str) -> LabLayerSpec:
        return self.get("lab layer", name)
