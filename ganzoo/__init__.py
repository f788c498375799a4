"""ganzoo: a plugin-based zoo of GANs for PyTorch.

Plugins import only from this module: ``ganzoo.hookimpl``, the interfaces and the spec dataclasses.
"""

from __future__ import annotations

__version__ = "0.1.0"

from ganzoo.errors import (  # noqa: E402
    CheckpointError,
    ConfigError,
    DataError,
    DeviceError,
    GanzooError,
    MetricError,
    PluginError,
    UnknownNameError,
)
from ganzoo.hookspecs import hookimpl  # noqa: E402
from ganzoo.interfaces import (  # noqa: E402
    Discriminator,
    Generator,
    LabProbe,
    Loss,
    PenaltyInputs,
    Regulariser,
    init_normal_,
)
from ganzoo.registry import (  # noqa: E402
    DatasetSpec,
    ExtractorSpec,
    LabLayerSpec,
    LossSpec,
    OptimizerSpec,
    RegulariserSpec,
    TrainDefaults,
    VariantSpec,
)

from ganzoo.api import create, list_variants, load, sample, train  # noqa: E402  isort: skip

__all__ = [
    "CheckpointError", "ConfigError", "DataError", "DatasetSpec", "DeviceError", "Discriminator", "ExtractorSpec",
    "GanzooError", "Generator", "LabLayerSpec", "LabProbe", "Loss", "LossSpec", "MetricError", "OptimizerSpec",
    "PenaltyInputs", "PluginError", "Regulariser", "RegulariserSpec", "TrainDefaults", "UnknownNameError",
    "VariantSpec", "__version__", "create", "hookimpl", "init_normal_", "list_variants", "load", "sample", "train",
]
