"""Every hook a ganzoo plugin can implement.

A plugin is a module (found through the ``ganzoo`` entry-point group) with functions decorated by
``ganzoo.hookimpl``. Each hook receives a ``register`` callback; the plugin calls it once per thing it adds. The
built-in variants in ``ganzoo_plugins`` use exactly these hooks. Names must be unique across all plugins: two plugins
registering the same name is an error that names both. All hooks are optional.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ganzoo.registry import DatasetSpec, ExtractorSpec, LossSpec, VariantSpec

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")


@hookspec
def ganzoo_register_variants(register: Callable[[VariantSpec], None]) -> None:
    """Register GAN variants: call ``register(VariantSpec(...))`` once per variant.

    Called once per process when the registry is first built. Return value is ignored.
    """


@hookspec
def ganzoo_register_losses(register: Callable[[LossSpec], None]) -> None:
    """Register adversarial losses: call ``register(LossSpec(...))`` once per loss.

    A variant names its loss by string, and users may override it with ``--loss``; any registered loss is usable
    by any variant.
    """


@hookspec
def ganzoo_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register datasets: call ``register(DatasetSpec(...))`` once per dataset.

    A dataset's ``load`` returns the whole split as tensors in memory (see :class:`ganzoo.data.ArrayData`).
    """


@hookspec
def ganzoo_register_extractors(register: Callable[[ExtractorSpec], None]) -> None:
    """Register feature extractors for metrics: call ``register(ExtractorSpec(...))`` once per extractor."""
