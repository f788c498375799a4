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
def ganzoo_register_regularisers(register: Callable[[RegulariserSpec], None]) -> None:
    """Register regularisers: call ``register(RegulariserSpec(...))`` once per regulariser.

    A penalty on D's loss (R1, WGAN-GP's gradient penalty), a constraint on D's weights after its step (weight
    clipping) or an augmentation of what D sees (DiffAugment). A variant lists the ones it uses with their values
    (``VariantSpec(regularisers={"r1": 10.0})``) and users change the list with ``--reg NAME=VALUE``; any
    registered regulariser is usable by any variant.
    """


@hookspec
def ganzoo_register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Register datasets: call ``register(DatasetSpec(...))`` once per dataset.

    A dataset's ``load`` returns the whole split as tensors in memory (see :class:`ganzoo.data.ArrayData`).
    """


@hookspec
def ganzoo_register_extractors(register: Callable[[ExtractorSpec], None]) -> None:
    """Register feature extractors for metrics: call ``register(ExtractorSpec(...))`` once per extractor."""


@hookspec
def ganzoo_register_loggers(register: Callable[[LoggerSpec], None]) -> None:
    """Register training loggers: call ``register(LoggerSpec(...))`` once per logger.

    A logger receives every record a run writes to metrics.jsonl (each step's losses, each FID evaluation) and its
    sample grids; ``ganzoo train --log NAME`` turns one on. The built-in metrics.jsonl writer, TensorBoard and
    Weights & Biases are registered through this hook.
    """


@hookspec
def ganzoo_register_pretrained(register: Callable[[PretrainedSpec], None]) -> None:
    """Register trained weights: call ``register(PretrainedSpec(variant, weights, source))`` once per set.

    ``source`` is a folder in the Hugging Face Hub model layout inside an installed package
    (``"my_package:weights/mygan-mnist"``), an absolute path, or a Hub repository (``"hf://owner/name"``). Users load
    them as ``ganzoo.load("pretrained:VARIANT/WEIGHTS")``, ``ganzoo.create(VARIANT, pretrained=WEIGHTS)`` or
    ``ganzoo sample VARIANT --pretrained WEIGHTS``; ganzoo's own weights are registered through this hook.
    """


@hookspec
def ganzoo_register_exporters(register: Callable[[ExporterSpec], None]) -> None:
    """Register export formats: call ``register(ExporterSpec(...))`` once per format.

    ``ganzoo export RUN OUT --format NAME`` writes a run's sampling generator with the exporter ``NAME``; the
    built-in ``onnx`` and ``torchscript`` formats are registered through this hook.
    """


@hookspec
def ganzoo_register_lab_layers(register: Callable[[LabLayerSpec], None]) -> None:
    """Register layers of ``ganzoo lab``'s plane view: call ``register(LabLayerSpec(...))`` once per layer.

    At every recorded step the lab calls each layer's ``compute`` with a :class:`ganzoo.LabProbe` (copies of the
    networks, the fixed noise and its samples, real samples, the heatmap grid) and draws what it returns as points,
    a heatmap, arrows or a mesh, with a toggle and a legend entry. The built-in layers (real and generated samples,
    D's decision surface, G's gradient field, the manifold) are registered this way.
    """
