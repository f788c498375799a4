"""The one training loop every variant uses: ``n_critic`` discriminator steps, then one generator step."""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ganzoo import __version__
from ganzoo.data import ArrayData, load_dataset
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.batches import BatchStream
from ganzoo.engine.config import TrainConfig, resolve
from ganzoo.engine.device import select_device
from ganzoo.engine.ema import EMA
from ganzoo.engine.rundir import RunDir, RunLock
from ganzoo.errors import CheckpointError, ConfigError, GanzooError
from ganzoo.losses import gradient_penalty
from ganzoo.models import build
from ganzoo.registry import LossSpec, Registry, VariantSpec


class TrainingDiverged(GanzooError):
    """A loss or weight became NaN or infinite."""


@dataclass
class StepStats:
    """What one generator step produced; handed to the progress callback and written to metrics.jsonl."""

    step: int
    d_loss: float
    g_loss: float
    d_real: float  # mean D score on real data
    d_fake: float  # mean D score on generated data
    gp: float | None
    images_per_s: float
    elapsed_s: float

    def as_dict(self) -> dict[str, float | int | None]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class Events:
    """Optional callbacks, so the engine never prints: the CLI draws a progress bar from these."""

    on_start: Callable[[int, int], None] | None = None  # (first step, last step)
    on_step: Callable[[StepStats], None] | None = None
    on_checkpoint: Callable[[int, Path], None] | None = None
    extra: dict = field(default_factory=dict)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


class Trainer:
    """Holds both networks, their optimizers and the data; ``run()`` trains to ``config.steps``."""

    def __init__(self, config: TrainConfig, run: RunDir, registry: Registry) -> None:
        self.config = config = resolve(config, registry)
        self.run_dir = run
        self.spec: VariantSpec = registry.variant(config.variant)
        self.loss: LossSpec = registry.loss(config.loss)
        self.device = select_device(config.device)
        if config.amp == "fp16" and self.device.type != "cuda":
            raise ConfigError("--amp fp16 needs a CUDA device; use --amp bf16 on CPU")

        self.data: ArrayData = load_dataset(registry, config.dataset, split="train", image_size=config.image_size,
                                            channels=config.channels, root=config.data_dir, seed=config.seed)
        if len(self.data) < config.batch_size:
            raise ConfigError(f"the dataset has {len(self.data)} samples, fewer than --batch-size "
                              f"{config.batch_size}")
        data_shape = self.data.sample_shape
        if self.data.kind == "image" and data_shape[0] not in self.spec.channels:
            raise ConfigError(f"variant {self.spec.name!r} does not support {data_shape[0]} channels")

        seed_everything(config.seed)
        g, d = build(self.spec, data_shape, config.z_dim)
        self.G, self.D = g.to(self.device), d.to(self.device)
        defaults = self.spec.defaults
        self.opt_g = _with_lr(defaults.g_optimizer, config.lr_g).build(self.G.parameters())
        self.opt_d = _with_lr(defaults.d_optimizer, config.lr_d).build(self.D.parameters())
        self.ema = EMA(self.G, config.ema_decay) if config.ema_decay else None
        self.batches = BatchStream(len(self.data), config.batch_size, seed=config.seed)
        self.fixed_noise = torch.randn(64, config.z_dim, generator=torch.Generator().manual_seed(config.seed))
        self.step = 0
        self.problems: list[str] = []  # checkpoints skipped on resume, and why
        self._g_fwd, self._d_fwd = self.G, self.D
        if config.compile:
            self._g_fwd, self._d_fwd = torch.compile(self.G), torch.compile(self.D)
        self._scaler = torch.amp.GradScaler("cuda") if config.amp == "fp16" else None

    # --- one step ------------------------------------------------------------------------------------------

    def _autocast(self):
        if self.config.amp == "off":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.config.amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _real_batch(self, index: int) -> torch.Tensor:
        rows = self.batches.indices(index)
        return self.data.to_model(self.data.data[rows]).to(self.device, non_blocking=True)

    def _backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer) -> None:
        optimizer.zero_grad(set_to_none=True)
        if self._scaler is None:
            loss.backward()
            optimizer.step()
        else:
            self._scaler.scale(loss).backward()
            self._scaler.step(optimizer)
            self._scaler.update()

    def train_step(self) -> StepStats:
        """``n_critic`` D steps (each on a fresh real batch) then one G step; returns the last values seen."""
        cfg, batch = self.config, self.config.batch_size
        started = time.perf_counter()
        self.D.requires_grad_(True)
        gp_value = None
        for k in range(cfg.n_critic):
            real = self._real_batch(self.step * cfg.n_critic + k)
            z = torch.randn(batch, cfg.z_dim, device=self.device)
            with self._autocast():
                with torch.no_grad():
                    fake = self._g_fwd(z)
                real_scores, fake_scores = self._d_fwd(real), self._d_fwd(fake)
                d_loss = self.loss.d_loss(real_scores.float(), fake_scores.float())
            if self.spec.gradient_penalty:
                gp = gradient_penalty(self._d_fwd, real, fake)
                d_loss = d_loss + self.spec.gradient_penalty * gp
                gp_value = gp.item()
            self._backward_step(d_loss, self.opt_d)
            if self.spec.weight_clip is not None:
                with torch.no_grad():
                    for p in self.D.parameters():
                        p.clamp_(-self.spec.weight_clip, self.spec.weight_clip)

        # G step: D's weights are fixed, so its parameter gradients are not computed at all.
        self.D.requires_grad_(False)
        z = torch.randn(batch, cfg.z_dim, device=self.device)
        with self._autocast():
            fake_scores_g = self._d_fwd(self._g_fwd(z)).float()
            real_for_g = self._d_fwd(real).float() if self.loss.g_uses_real else None
            g_loss = self.loss.g_loss(fake_scores_g, real_for_g)
        self._backward_step(g_loss, self.opt_g)
        if self.ema is not None:
            self.ema.update(self.G, self.step)
        self.step += 1

        values = (d_loss.item(), g_loss.item())
        if not all(math.isfinite(v) for v in values):
            raise TrainingDiverged(
                f"training diverged at step {self.step}: d_loss={values[0]}, g_loss={values[1]}; "
                "the last good checkpoint is kept (try a lower learning rate)")
        seconds = time.perf_counter() - started
        return StepStats(self.step, values[0], values[1], real_scores.float().mean().item(),
                         fake_scores.float().mean().item(), gp_value,
                         batch * cfg.n_critic / max(seconds, 1e-9), 0.0)

    # --- state ----------------------------------------------------------------------------------------------

    @property
    def sampler(self) -> torch.nn.Module:
        """The network samples come from: the EMA generator when there is one."""
        return self.ema.module if self.ema is not None else self.G

    def save_checkpoint(self) -> Path:
        tensors = {**ckpt.module_tensors("G", self.G), **ckpt.module_tensors("D", self.D)}
        if self.ema is not None:
            tensors.update(ckpt.module_tensors("G_ema", self.ema.module))
        opt_g, opt_g_meta = ckpt.optimizer_tensors("opt_g", self.opt_g)
        opt_d, opt_d_meta = ckpt.optimizer_tensors("opt_d", self.opt_d)
        rng, rng_meta = ckpt.rng_state()
        tensors.update({**opt_g, **opt_d, **rng})
        if self._scaler is not None:
            tensors["scaler.scale"] = self._scaler.get_scale() * torch.ones(())
        meta = {
            "variant": self.spec.name, "ganzoo_version": __version__, "torch_version": torch.__version__,
            "step": str(self.step), "config": self.config.to_json(),
            "data_shape": json.dumps(list(self.G.data_shape)), "z_dim": str(self.G.z_dim),
            "opt_g": opt_g_meta, "opt_d": opt_d_meta, "rng": rng_meta,
        }
        path = self.run_dir.checkpoint(self.step)
        ckpt.save_tensors(path, tensors, meta)
        for _, old in self.run_dir.list_checkpoints()[: -self.config.keep_checkpoints]:
            old.unlink(missing_ok=True)
        return path

    def restore_latest(self) -> int:
        """Load the newest checkpoint that verifies; a corrupt one is skipped (and left in place)."""
        problems = []
        for _, path in reversed(self.run_dir.list_checkpoints()):
            try:
                tensors, meta = ckpt.load_tensors(path)
                if meta.get("variant") != self.spec.name:
                    raise CheckpointError(f"{path} is a {meta.get('variant')!r} checkpoint, not {self.spec.name!r}")
                ckpt.load_module("G", self.G, tensors, path)
                ckpt.load_module("D", self.D, tensors, path)
                if self.ema is not None:
                    ckpt.load_module("G_ema", self.ema.module, tensors, path)
                ckpt.load_optimizer("opt_g", self.opt_g, tensors, meta["opt_g"])
                ckpt.load_optimizer("opt_d", self.opt_d, tensors, meta["opt_d"])
                ckpt.restore_rng(tensors, meta["rng"])
            except (CheckpointError, KeyError, ValueError, RuntimeError) as exc:
                problems.append(f"{path.name}: {exc}")
                continue
            self.step = int(meta["step"])
            self.problems = problems
            return self.step
        detail = ("; ".join(problems)) if problems else "no checkpoints"
        raise CheckpointError(f"cannot resume {self.run_dir.root}: {detail}")

    def save_samples(self) -> Path:
        from ganzoo.plots import save_samples

        path = self.run_dir.sample_grid(self.step)
        g = self.sampler
        was_training = g.training
        g.eval()
        with torch.no_grad():
            x = g(self.fixed_noise.to(self.device)).float().cpu()
        g.train(was_training)
        save_samples(x, path, kind=self.data.kind)
        return path


def _with_lr(opt, lr):
    from dataclasses import replace

    return replace(opt, lr=lr) if lr else opt


def train(config: TrainConfig, out: Path, registry: Registry | None = None, resume: bool = False,
          events: Events | None = None) -> RunDir:
    """Train ``config`` into run directory ``out`` (or continue the run there when ``resume``)."""
    from ganzoo.plots import plot_losses
    from ganzoo.plugins import get_registry

    registry = registry or get_registry()
    events = events or Events()
    run = RunDir(Path(out))
    run.prepare(fresh=not resume)
    with RunLock(run):
        trainer = Trainer(config, run, registry)
        if resume:
            start = trainer.restore_latest()
            run.truncate_metrics(start)
        else:
            run.config.write_text(trainer.config.to_json())
            start = 0
        last = trainer.config.steps
        if events.on_start:
            events.on_start(start, last)
        t0 = time.perf_counter()
        cfg = trainer.config
        with open(run.metrics, "a", buffering=1) as log:
            while trainer.step < last:
                stats = trainer.train_step()
                stats.elapsed_s = time.perf_counter() - t0
                log.write(json.dumps(stats.as_dict()) + "\n")
                if events.on_step:
                    events.on_step(stats)
                final = trainer.step == last
                if final or trainer.step % cfg.sample_every == 0:
                    trainer.save_samples()
                if final or trainer.step % cfg.checkpoint_every == 0:
                    path = trainer.save_checkpoint()
                    if events.on_checkpoint:
                        events.on_checkpoint(trainer.step, path)
        plot_losses(run.read_metrics(), run.losses_plot)
    return run
