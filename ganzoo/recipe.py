"""How a run's recipe departs from its variant's defaults: what a report names so that a changed recipe does not
read like the default one."""

from __future__ import annotations

from typing import Any

from ganzoo.engine.config import TrainConfig, resolve
from ganzoo.errors import GanzooError
from ganzoo.registry import Registry

RECIPE_FIELDS = ("image_size", "z_dim", "n_critic", "regularisers", "network", "lr_g", "lr_d", "ema_decay",
                 "lr_decay", "init")  # besides steps, batch, seed and loss, which every report names anyway


def recipe_departures(config: TrainConfig, registry: Registry) -> dict[str, Any]:
    """The settings of ``config`` (a resolved run config) that differ from its variant's defaults on the same
    dataset, for a report to name; of the network options only the changed ones. Empty when the variant or its
    dataset is no longer registered."""
    try:
        default = resolve(TrainConfig(variant=config.variant, dataset=config.dataset, data_dir=config.data_dir,
                                      device="cpu"), registry)
    except GanzooError:
        return {}
    out: dict[str, Any] = {}
    for name in RECIPE_FIELDS:
        value, usual = getattr(config, name), getattr(default, name)
        if name == "network" and isinstance(value, dict) and isinstance(usual, dict):
            value = {k: v for k, v in value.items() if usual.get(k, object()) != v}
            if value:
                out[name] = value
        elif value != usual:
            out[name] = value
    return out
