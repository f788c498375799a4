"""What a checkpoint of a training run holds and how it comes back (networks, EMA, optimizers, loss scalers, random
streams, step, training seconds), and the weights ``--init`` starts a run from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from ganzoo import __version__
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.config import TrainConfig
from ganzoo.errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from ganzoo.engine.loop import Trainer
    from ganzoo.registry import Registry


def training_state(trainer: Trainer) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a checkpoint of ``trainer`` at its current step: G, D, the EMA generator (its
    batch-norm statistics re-estimated), both optimizers, the random streams, the loss scalers, the step."""
    tensors = {**ckpt.module_tensors("G", trainer.G), **ckpt.module_tensors("D", trainer.D)}
    if trainer.ema is not None:
        tensors.update(ckpt.module_tensors("G_ema", trainer.sampler))
    opt_g, opt_g_meta = ckpt.optimizer_tensors("opt_g", trainer.opt_g)
    opt_d, opt_d_meta = ckpt.optimizer_tensors("opt_d", trainer.opt_d)
    rng, rng_meta = ckpt.rng_state(trainer.device)
    tensors.update({**opt_g, **opt_d, **rng})
    meta = {
        "variant": trainer.spec.name, "ganzoo_version": __version__, "torch_version": torch.__version__,
        "step": str(trainer.step), "config": trainer.config.to_json(),
        "data_shape": json.dumps(list(trainer.G.data_shape)), "z_dim": str(trainer.G.z_dim),
        "num_classes": str(trainer.num_classes), "class_names": json.dumps(list(trainer.data.names())),
        "opt_g": opt_g_meta, "opt_d": opt_d_meta, "rng": rng_meta, "train_seconds": repr(trainer.train_seconds),
    }
    for net, scaler in trainer.scalers.items():
        meta[f"scaler_{net}"] = json.dumps(scaler.state_dict())
    return tensors, meta


def restore_training_state(trainer: Trainer, path: Path) -> int:
    """Load networks, EMA, optimizers, loss scalers and random streams from the checkpoint at ``path`` into
    ``trainer``; returns the checkpoint's step and sets ``trainer.train_seconds``. Raises
    :class:`CheckpointError` when it does not verify or does not fit this run."""
    tensors, meta = ckpt.read_checkpoint(path)
    if meta["variant"] != trainer.spec.name:
        raise CheckpointError(f"{path} is a {meta['variant']!r} checkpoint, this run trains {trainer.spec.name!r}")
    ema_keys = any(k.startswith("G_ema.") for k in tensors)
    if ema_keys != (trainer.ema is not None):
        raise CheckpointError(f"{path} {'has' if ema_keys else 'lacks'} an EMA generator, this run "
                              f"{'does not keep one' if ema_keys else 'keeps one'}")
    ckpt.load_module("G", trainer.G, tensors, path)
    ckpt.load_module("D", trainer.D, tensors, path)
    if trainer.ema is not None:
        ckpt.load_module("G_ema", trainer.ema.module, tensors, path)
    ckpt.load_optimizer("opt_g", trainer.opt_g, tensors, meta["opt_g"], path)
    ckpt.load_optimizer("opt_d", trainer.opt_d, tensors, meta["opt_d"], path)
    for net, scaler in trainer.scalers.items():
        state = meta.get(f"scaler_{net}")  # absent when the run trained without fp16 until now
        if state and json.loads(state):
            scaler.load_state_dict(json.loads(state))
    ckpt.restore_rng(tensors, meta["rng"], path, trainer.device)
    trainer.step = trainer.checkpoint_step = int(meta["step"])
    trainer.train_seconds = float(meta.get("train_seconds", "0"))  # absent from checkpoints before ganzoo 0.2
    return trainer.step


def load_initial_weights(trainer: Trainer, registry: Registry) -> dict[str, torch.Tensor]:
    """Load ``--init`` weights into G and D (fine-tuning); they must be this variant's, for data of this shape,
    built with the same network options. Returns the tensors (the EMA generator's, if any, load later)."""
    from ganzoo.pretrained import init_tensors

    source = trainer.config.init
    tensors, meta, name = init_tensors(source, registry)
    theirs = {"variant": meta["variant"], "data shape": tuple(json.loads(meta["data_shape"])),
              "z_dim": int(meta["z_dim"]), "classes": int(meta.get("num_classes", "0"))}
    ours = {"variant": trainer.spec.name, "data shape": trainer.G.data_shape, "z_dim": trainer.G.z_dim,
            "classes": trainer.num_classes}
    for key, value in theirs.items():
        if value != ours[key]:
            raise ConfigError(f"--init {name} has {key} {value}, this run {ours[key]}: fine-tuning starts from "
                              "weights of the same variant and shapes")
    try:
        ckpt.load_module("G", trainer.G, tensors, Path(str(source)))
        ckpt.load_module("D", trainer.D, tensors, Path(str(source)))
    except CheckpointError:
        # equal options always fit; other options (e.g. a variant's later default widths) fit when the shapes do
        options = (TrainConfig.from_dict(json.loads(meta["config"])).network or {}) if "config" in meta else {}
        if options == trainer.config.network:
            raise
        fix = (f"pass {' '.join(f'--net {k}={json.dumps(v)}' for k, v in options.items())}" if options else
               "it predates network options; continue it with `ganzoo train --resume` instead")
        raise ConfigError(f"--init {name} was built with network options {options}, this run with "
                          f"{trainer.config.network}: {fix}") from None
    return tensors
