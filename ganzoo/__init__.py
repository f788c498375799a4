"""ganzoo: a plugin-based zoo of GANs for PyTorch.

Plugins import only from this module: ``ganzoo.hookimpl``, the interfaces and the spec dataclasses.

Every name is imported on first use (PEP 562), so ``import ganzoo`` does not import torch: the command line answers
``ganzoo --help`` without paying for it.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY = {
    **dict.fromkeys(("CheckpointError", "ConfigError", "DataError", "DeviceError", "GanzooError", "MetricError",
                     "PluginError", "UnknownNameError"), "ganzoo.errors"),
    "hookimpl": "ganzoo.hookspecs",
    **dict.fromkeys(("Discriminator", "Generator", "LabProbe", "Loss", "PenaltyInputs", "Regulariser",
                     "init_normal_"), "ganzoo.interfaces"),
    "Logger": "ganzoo.loggers",
    **dict.fromkeys(("DatasetSpec", "ExporterSpec", "ExtractorSpec", "LabLayerSpec", "LoggerSpec", "LossSpec",
                     "OptimizerSpec", "PretrainedSpec", "RegulariserSpec", "TrainDefaults", "VariantSpec"),
                    "ganzoo.specs"),
    **dict.fromkeys(("bench", "create", "export", "fid", "interpolate", "iter_samples", "list_variants", "load",
                     "sample", "train"), "ganzoo.api"),
}

__all__ = [
    "CheckpointError", "ConfigError", "DataError", "DatasetSpec", "DeviceError", "Discriminator", "ExporterSpec",
    "ExtractorSpec", "GanzooError", "Generator", "LabLayerSpec", "LabProbe", "Logger", "LoggerSpec", "Loss",
    "LossSpec", "MetricError", "PretrainedSpec",
    "OptimizerSpec", "PenaltyInputs", "PluginError", "Regulariser", "RegulariserSpec", "TrainDefaults",
    "UnknownNameError", "VariantSpec", "__version__", "bench", "create", "export", "fid", "hookimpl", "init_normal_",
    "interpolate", "iter_samples", "list_variants", "load", "sample", "train",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
            return importlib.import_module(f"{__name__}.{name}")  # ganzoo.data, ganzoo.metrics, ... as before
        raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the names above load on first use
    from ganzoo.api import bench, create, export, fid, interpolate, iter_samples, list_variants, load, sample, train
    from ganzoo.errors import (
        CheckpointError,
        ConfigError,
        DataError,
        DeviceError,
        GanzooError,
        MetricError,
        PluginError,
        UnknownNameError,
    )
    from ganzoo.hookspecs import hookimpl
    from ganzoo.interfaces import Discriminator, Generator, LabProbe, Loss, PenaltyInputs, Regulariser, init_normal_
    from ganzoo.loggers import Logger
    from ganzoo.specs import (
        DatasetSpec,
        ExporterSpec,
        ExtractorSpec,
        LabLayerSpec,
        LoggerSpec,
        LossSpec,
        OptimizerSpec,
        PretrainedSpec,
        RegulariserSpec,
        TrainDefaults,
        VariantSpec,
    )
