"""The one training loop every variant uses: ``n_critic`` discriminator steps, then one generator step."""

from __future__ import annotations

import contextlib
import json
import math
import os
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
from ganzoo.engine.distributed import RANK0_FAILED, World, join, leave, rank_device, world_from_env
from ganzoo.engine.ema import EMA
from ganzoo.engine.layout import prefer_channels_last
from ganzoo.engine.rundir import RunDir, RunLock
from ganzoo.errors import CheckpointError, ConfigError, GanzooError
from ganzoo.interfaces import PenaltyInputs
from ganzoo.models import build
from ganzoo.registry import LossSpec, Registry, RegulariserSpec, VariantSpec


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
    penalties: dict[str, float]  # unweighted value of each regulariser's penalty at the last D step that applied it
    images_per_s: float
    elapsed_s: float  # wall time since this process started training
    train_s: float = 0.0  # seconds spent in training steps since the run began, across resumes

    def as_dict(self) -> dict[str, float | int]:
        out = {k: v for k, v in self.__dict__.items() if k != "penalties"}
        out.update(self.penalties)
        return out


@dataclass
class DStep:
    """What one discriminator step produced (all detached)."""

    loss: torch.Tensor  # D's loss, penalties included
    real_scores: torch.Tensor
    fake_scores: torch.Tensor
    penalties: dict[str, torch.Tensor]  # unweighted value of each penalty applied at this step
    real: torch.Tensor  # the real batch D saw (augmented): what a g_uses_real loss compares G's samples with


@dataclass
class Events:
    """Optional callbacks, so the engine never prints: the CLI draws a progress bar from these."""

    on_start: Callable[[int, int], None] | None = None  # (first step, last step)
    on_step: Callable[[StepStats], None] | None = None
    on_checkpoint: Callable[[int, Path], None] | None = None
    on_warning: Callable[[str], None] | None = None  # one-line notes: skipped checkpoints, set-aside files
    on_info: Callable[[str], None] | None = None  # one-line facts worth showing, e.g. the process layout
    on_fid: Callable[[dict], None] | None = None  # a FID-while-training record (see ganzoo.engine.tracking)
    extra: dict = field(default_factory=dict)

    def warn(self, message: str) -> None:
        if self.on_warning:
            self.on_warning(message)

    def info(self, message: str) -> None:
        if self.on_info:
            self.on_info(message)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


class Trainer:
    """Both networks, their optimizers, the EMA and the data; :func:`train` drives it step by step.

    Building one writes nothing: options, device, data and networks are all checked first. Under data parallelism
    (``world`` of several ranks, process group joined) every rank builds one; ``config.batch_size`` stays the
    global batch and each rank trains on its slice of it.
    """

    def __init__(self, config: TrainConfig, run: RunDir, registry: Registry, world: World | None = None) -> None:
        self.config = config = resolve(config, registry)
        self.run_dir = run
        self.world = world = world or World()
        self.spec: VariantSpec = registry.variant(config.variant)
        self.loss: LossSpec = registry.loss(config.loss)
        regs = [(registry.regulariser(name), value) for name, value in config.regularisers.items()]
        self.penalties: list[tuple[RegulariserSpec, float]] = [r for r in regs if r[0].penalty is not None]
        self.constraints: list[tuple[RegulariserSpec, float]] = [r for r in regs if r[0].after_step is not None]
        self.augments = [spec.augment for spec, _ in regs if spec.augment is not None]
        self.device = rank_device(world, select_device(config.device))
        if config.amp != "off" and self.device.type not in ("cuda", "cpu"):
            raise ConfigError(f"--amp {config.amp} runs on CUDA or CPU, not {self.device.type}")
        self.local_batch = world.split(config.batch_size)

        with world.main_first():  # rank 0 downloads what is missing, the others then read it
            self.data: ArrayData = load_dataset(registry, config.dataset, split="train",
                                                image_size=config.image_size, channels=config.channels,
                                                root=config.data_dir, seed=config.seed)
        if len(self.data) < config.batch_size:
            raise ConfigError(f"the dataset has {len(self.data)} samples, fewer than --batch-size "
                              f"{config.batch_size}")
        data_shape = self.data.sample_shape
        if self.data.kind == "image" and data_shape[0] not in self.spec.channels:
            raise ConfigError(f"variant {self.spec.name!r} does not support {data_shape[0]} channels")

        seed_everything(config.seed)
        try:
            g, d = build(self.spec, data_shape, config.z_dim)
        except (RuntimeError, MemoryError) as exc:  # e.g. a z_dim too large to allocate
            message = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ConfigError(f"cannot build the {self.spec.name!r} networks for data of shape {data_shape} "
                              f"with z-dim {config.z_dim}: {message}") from exc
        self.notes: list[str] = []  # one-line remarks for the user, e.g. how batch norm is handled across ranks
        if world.active and self.spec.sync_batchnorm:
            if self.device.type == "cuda":
                g, d = (torch.nn.SyncBatchNorm.convert_sync_batchnorm(net) for net in (g, d))
            elif _has_batchnorm(g) or _has_batchnorm(d):
                self.notes.append("batch norm statistics are per rank on CPU (torch's SyncBatchNorm needs a GPU), "
                                  "so this run is not the single-process run with the same global batch")
        self.G, self.D = g.to(self.device), d.to(self.device)
        self.channels_last = prefer_channels_last(self.device, self.G, self.D, data_shape, config.z_dim)
        defaults = self.spec.defaults
        self.opt_g = _with_lr(defaults.g_optimizer, config.lr_g).build(self.G.parameters())
        self.opt_d = _with_lr(defaults.d_optimizer, config.lr_d).build(self.D.parameters())
        self.ema = EMA(self.G, config.ema_decay) if config.ema_decay else None
        self.batches = BatchStream(len(self.data), self.local_batch, seed=config.seed, rank=world.rank,
                                   world_size=world.world_size)
        self.fixed_noise = torch.randn(64, config.z_dim, generator=torch.Generator().manual_seed(config.seed))
        self.step = 0
        self.train_seconds = 0.0  # in train_step only: what quality-per-minute plots put on their x axis
        self.tracker = None  # FID while training (rank 0 only), see ganzoo.engine.tracking
        if config.fid_every and world.is_main:
            from ganzoo.engine.tracking import FidTracker

            self.tracker = FidTracker.build(registry, config.fid_extractor, config.dataset, config.image_size,
                                            data_shape[0], config.data_dir, config.z_dim, config.fid_samples,
                                            config.seed, self.device)
        self.checkpoint_step: int | None = None  # step of the newest checkpoint written or restored
        self.problems: list[tuple[Path, str]] = []  # checkpoints skipped on resume, and why
        # D's step goes through _d_step and G's through _g_step: under data parallelism those are the
        # DistributedDataParallel wrappers, whose backward averages gradients over ranks. G's no-grad forward in
        # D's step and D's forward in G's step (its weights frozen) need no gradient sync: plain modules.
        self._g_plain, self._d_plain = self.G, self.D
        self._g_step, self._d_step = self.G, self.D
        if world.active:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self._g_step = torch.nn.parallel.DistributedDataParallel(self.G, device_ids=ids)
            self._d_step = torch.nn.parallel.DistributedDataParallel(self.D, device_ids=ids)
        if config.compile:
            self._g_plain, self._d_plain = torch.compile(self.G), torch.compile(self.D)
            if world.active:
                self._g_step, self._d_step = torch.compile(self._g_step), torch.compile(self._d_step)
            else:
                self._g_step, self._d_step = self._g_plain, self._d_plain
        # fp16 gradients underflow without loss scaling; bf16 has float32's exponent range and needs none. One
        # scaler per network: D and G have separate losses, optimizers and overflow histories.
        self.scalers = ({"D": torch.amp.GradScaler(self.device.type), "G": torch.amp.GradScaler(self.device.type)}
                        if config.amp == "fp16" else {})

    # --- one step ------------------------------------------------------------------------------------------

    def _autocast(self):
        if self.config.amp == "off":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.config.amp == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    def _mine(self, drawn: torch.Tensor) -> torch.Tensor:
        """This rank's rows of something drawn for the whole global batch: every rank draws the same numbers as a
        single process would, so the run does not depend on the world size."""
        if not self.world.active:
            return drawn
        start = self.world.rank * self.local_batch
        return drawn[start:start + self.local_batch]

    def _noise(self) -> torch.Tensor:
        return self._mine(torch.randn(self.config.batch_size, self.config.z_dim, device=self.device))

    def _uniform(self) -> torch.Tensor:
        return self._mine(torch.rand(self.config.batch_size, device=self.device))

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        for augment in self.augments:
            x = augment(x)
        return x

    def _real_batch(self, index: int) -> torch.Tensor:
        rows = self.batches.indices(index)
        batch = self.data.to_model(self.data.data[rows]).to(self.device, non_blocking=True)
        return batch.contiguous(memory_format=torch.channels_last) if self.channels_last else batch

    def _backward_step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer, net: str) -> None:
        optimizer.zero_grad(set_to_none=True)
        scaler = self.scalers.get(net)
        if scaler is None:
            loss.backward()
            optimizer.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()

    def d_step(self, index: int) -> DStep:
        """One discriminator update on real batch ``index`` and fresh noise.

        D minimises the adversarial loss plus each active penalty times its value; each constraint then acts on D's
        weights; augmentations apply to everything D sees. The engine knows regularisers only by these roles.
        """
        self.D.requires_grad_(True)
        terms: dict[str, torch.Tensor] = {}
        real = self._real_batch(index)
        z = self._noise()
        with self._autocast():
            with torch.no_grad():
                fake = self._g_plain(z)
            real, fake = self._augment(real), self._augment(fake)
            real_scores, fake_scores = self._d_step(real), self._d_step(fake)
            d_loss = self.loss.d_loss(real_scores.float(), fake_scores.float())
        if self.penalties:
            # eager D: compiled graphs do not support the double backward most penalties need
            inputs = PenaltyInputs(self.D, real.detach(), fake.detach(), self._uniform)
            for spec, value in self.penalties:
                if index % spec.every == 0:
                    term = spec.penalty(inputs)
                    terms[spec.name] = term.detach()
                    d_loss = d_loss + (value * spec.every) * term
        self._backward_step(d_loss, self.opt_d, "D")
        for spec, value in self.constraints:
            with torch.no_grad():
                spec.after_step(self.D, value)
        return DStep(d_loss.detach(), real_scores.detach(), fake_scores.detach(), terms, real.detach())

    def g_step(self, real: torch.Tensor | None = None) -> torch.Tensor:
        """One generator update, D's weights fixed (its parameter gradients are not computed at all); then the EMA
        follows G and ``step`` advances. Returns G's loss.

        ``real`` is what D's last step saw, for a loss whose G side needs D's scores on real data (``g_uses_real``);
        without it such a loss uses real batch ``step * n_critic``.
        """
        self.D.requires_grad_(False)
        if real is None and self.loss.g_uses_real:
            real = self._augment(self._real_batch(self.step * self.config.n_critic))
        z = self._noise()
        with self._autocast():
            fake_scores_g = self._d_plain(self._augment(self._g_step(z))).float()
            real_for_g = self._d_plain(real).float() if self.loss.g_uses_real else None
            g_loss = self.loss.g_loss(fake_scores_g, real_for_g)
        self._backward_step(g_loss, self.opt_g, "G")
        if self.ema is not None:
            self.ema.update(self.G, self.step)
        self.step += 1
        return g_loss.detach()

    def train_step(self) -> StepStats:
        """``n_critic`` D steps (each on a fresh real batch) then one G step; returns the last values seen."""
        cfg = self.config
        started = time.perf_counter()
        terms: dict[str, torch.Tensor] = {}
        for k in range(cfg.n_critic):
            d = self.d_step(self.step * cfg.n_critic + k)
            terms.update(d.penalties)
        g_loss = self.g_step(d.real)

        # one device sync per step for everything that is logged
        logged = [d.loss, g_loss, d.real_scores.float().mean(), d.fake_scores.float().mean(), *terms.values()]
        values = self.world.mean(torch.stack(logged)).tolist()  # means over ranks: the global batch's values
        if not all(math.isfinite(v) for v in values[:2]):
            raise self._diverged(f"d_loss={values[0]}, g_loss={values[1]}")
        seconds = time.perf_counter() - started
        self.train_seconds += seconds
        return StepStats(self.step, values[0], values[1], values[2], values[3],
                         dict(zip(terms, values[4:], strict=True)), cfg.batch_size * cfg.n_critic / max(seconds, 1e-9),
                         0.0, self.train_seconds)

    def track(self) -> dict[str, float | int | str] | None:
        """Score the sampling generator now (rank 0, when tracking is on): a metrics.jsonl record, else None."""
        if self.tracker is None:
            return None
        return {"step": self.step, "train_s": self.train_seconds, **self.tracker.measure(self.sampler)}

    # --- state ----------------------------------------------------------------------------------------------

    @property
    def sampler(self) -> torch.nn.Module:
        """The network samples come from: the EMA generator (its batch-norm statistics re-estimated for the averaged
        weights) when there is one."""
        if self.ema is None:
            return self.G
        self.ema.recalibrate()
        return self.ema.module

    def _diverged(self, what: str) -> TrainingDiverged:
        kept = (f"the last good checkpoint, step {self.checkpoint_step}, is kept" if self.checkpoint_step
                else "no checkpoint had been written yet")
        return TrainingDiverged(f"training diverged at step {self.step}: {what}; {kept} "
                                "(try a lower learning rate)")

    def check_finite(self) -> None:
        """Raise :class:`TrainingDiverged` if any weight or buffer of G, D or the EMA generator is NaN or inf.

        Every rank raises if any rank would, so all of them stop together.
        """
        nets = {"G": self.G, "D": self.D, **({"G_ema": self.ema.module} if self.ema is not None else {})}
        bad = next((f"{which}.{name}" for which, net in nets.items() for name, tensor in net.state_dict().items()
                    if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())), None)
        if not self.world.all_agree(bad is None):
            raise self._diverged(f"{bad} is not finite" if bad else "a weight on another rank is not finite")

    def save_checkpoint(self) -> Path | None:
        """Write the full training state for this step (rank 0 only: returns None on the others).

        Keeps only the newest ``keep_checkpoints``.
        """
        self.check_finite()  # a checkpoint never holds NaN weights: the last good one must stay the last one
        if not self.world.is_main:
            self.checkpoint_step = self.step
            return None
        tensors = {**ckpt.module_tensors("G", self.G), **ckpt.module_tensors("D", self.D)}
        if self.ema is not None:
            tensors.update(ckpt.module_tensors("G_ema", self.sampler))
        opt_g, opt_g_meta = ckpt.optimizer_tensors("opt_g", self.opt_g)
        opt_d, opt_d_meta = ckpt.optimizer_tensors("opt_d", self.opt_d)
        rng, rng_meta = ckpt.rng_state(self.device)
        tensors.update({**opt_g, **opt_d, **rng})
        meta = {
            "variant": self.spec.name, "ganzoo_version": __version__, "torch_version": torch.__version__,
            "step": str(self.step), "config": self.config.to_json(),
            "data_shape": json.dumps(list(self.G.data_shape)), "z_dim": str(self.G.z_dim),
            "opt_g": opt_g_meta, "opt_d": opt_d_meta, "rng": rng_meta, "train_seconds": repr(self.train_seconds),
        }
        for net, scaler in self.scalers.items():
            meta[f"scaler_{net}"] = json.dumps(scaler.state_dict())
        path = self.run_dir.checkpoint(self.step)
        ckpt.save_tensors(path, tensors, meta)
        self.checkpoint_step = self.step
        for _, old in self.run_dir.list_checkpoints()[: -self.config.keep_checkpoints]:
            old.unlink(missing_ok=True)
        return path

    def load_checkpoint(self, path: Path) -> int:
        """Restore networks, EMA, optimizers, RNGs and step from ``path``; raises :class:`CheckpointError`."""
        tensors, meta = ckpt.read_checkpoint(path)
        if meta["variant"] != self.spec.name:
            raise CheckpointError(f"{path} is a {meta['variant']!r} checkpoint, this run trains {self.spec.name!r}")
        ema_keys = any(k.startswith("G_ema.") for k in tensors)
        if ema_keys != (self.ema is not None):
            raise CheckpointError(f"{path} {'has' if ema_keys else 'lacks'} an EMA generator, this run "
                                  f"{'does not keep one' if ema_keys else 'keeps one'}")
        ckpt.load_module("G", self.G, tensors, path)
        ckpt.load_module("D", self.D, tensors, path)
        if self.ema is not None:
            ckpt.load_module("G_ema", self.ema.module, tensors, path)
        ckpt.load_optimizer("opt_g", self.opt_g, tensors, meta["opt_g"], path)
        ckpt.load_optimizer("opt_d", self.opt_d, tensors, meta["opt_d"], path)
        for net, scaler in self.scalers.items():
            state = meta.get(f"scaler_{net}")  # absent when the run trained without fp16 until now
            if state and json.loads(state):
                scaler.load_state_dict(json.loads(state))
        ckpt.restore_rng(tensors, meta["rng"], path, self.device)
        self.step = self.checkpoint_step = int(meta["step"])
        self.train_seconds = float(meta.get("train_seconds", "0"))  # absent from checkpoints before ganzoo 0.2
        return self.step

    def restore_latest(self) -> int:
        """Load the newest checkpoint that verifies and fits; returns its step (0 when the run has none yet).

        Newer checkpoints that fail are listed in ``self.problems`` as (path, reason) and left in place; the
        caller decides what to do with them. If every checkpoint fails, :class:`CheckpointError` names them all.
        """
        self.problems = []
        candidates = list(reversed(self.run_dir.list_checkpoints()))
        if not candidates:
            return 0
        for _, path in candidates:
            try:
                return self.load_checkpoint(path)
            except CheckpointError as exc:
                self.problems.append((path, str(exc)))
        detail = "; ".join(reason for _, reason in self.problems)
        raise CheckpointError(f"cannot resume {self.run_dir.root}: no checkpoint loads ({detail})")

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


def _has_batchnorm(net: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())


def _with_lr(opt, lr):
    from dataclasses import replace

    return replace(opt, lr=lr) if lr else opt


def train(config: TrainConfig, out: Path, registry: Registry | None = None, resume: bool = False,
          events: Events | None = None) -> RunDir:
    """Train ``config`` into run directory ``out`` (or continue the run there when ``resume``).

    Every check (options, device, data, networks, an existing run in the way, the run's lock, the checkpoint to
    resume from) happens before anything in ``out`` is written or changed.

    Started by ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) or inside an initialised process group, every
    process calls this: they train data-parallel, rank 0 alone writes ``out`` and only its ``events`` fire.
    """
    from ganzoo.plugins import get_registry

    registry = registry or get_registry()
    events = events or Events()
    world = world_from_env()
    joined = join(world, select_device(config.device))
    try:
        run = _train(config, RunDir(Path(out)), registry, resume, events if world.is_main else Events(), world)
    except BaseException:
        leave(joined)
        raise
    leave(joined, finished=True)
    return run


def _on_main(world: World, action: Callable[[], None]) -> None:
    """Run ``action`` on rank 0 and let every rank know whether it worked, so that all stop together if not."""
    error: BaseException | None = None
    if world.is_main:
        try:
            action()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the other ranks have been told
            error = exc
    if not world.all_agree(error is None):
        if error is not None:
            raise error
        raise GanzooError(RANK0_FAILED)


def _train(config: TrainConfig, run: RunDir, registry: Registry, resume: bool, events: Events,
           world: World) -> RunDir:
    if resume and not run.is_run():
        raise CheckpointError(f"{run.root} is not a ganzoo run directory (no config.json)")
    if not resume:
        run.check_new()  # read-only, on every rank
    lock = RunLock(run)
    if resume:  # the lock comes first: nothing may change the checkpoints while they are read
        _on_main(world, lock.acquire)
    try:
        trainer = Trainer(config, run, registry, world)  # options, device, data, networks; nothing written yet
        start = trainer.restore_latest() if resume else 0
        world.barrier()  # every rank has read its checkpoint: rank 0 may set bad ones aside now
        _on_main(world, lambda: _prepare_resumed(trainer, run, start, events) if resume
                 else _prepare_new(trainer, run, lock, events))
        _run_loop(trainer, run, start, events)
    finally:
        if lock.held:
            lock.release()
    return run


def _prepare_new(trainer: Trainer, run: RunDir, lock: RunLock, events: Events) -> None:
    created = not run.root.exists()
    try:
        run.root.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                run.root.rmdir()
        raise
    run.check_new()  # another process may have started a run here while we loaded the data
    run.create()
    ckpt.atomic_write(run.config, lambda tmp: Path(tmp).write_text(trainer.config.to_json()))
    _note(trainer, events)


def _prepare_resumed(trainer: Trainer, run: RunDir, start: int, events: Events) -> None:
    if trainer.config.steps < start:
        raise ConfigError(f"--steps {trainer.config.steps} is below step {start}, which the run in "
                          f"{run.root} has already reached")
    for path, reason in trainer.problems:
        moved = run.set_aside(path)
        events.warn(f"{reason}; resuming from step {start}, the bad file is kept as {moved.name}")
    _note(trainer, events)
    run.remove_temp_files()
    run.create()
    run.truncate_metrics(start)
    run.truncate_samples(start)
    ckpt.atomic_write(run.config, lambda tmp: Path(tmp).write_text(trainer.config.to_json()))


def _note(trainer: Trainer, events: Events) -> None:
    if trainer.world.active:
        events.info(f"training on {trainer.world.world_size} processes ({trainer.device.type}), "
                    f"{trainer.local_batch} of the global batch {trainer.config.batch_size} each")
    for note in trainer.notes:
        events.warn(note)


def _run_loop(trainer: Trainer, run: RunDir, start: int, events: Events) -> None:
    """Train to ``config.steps``; every rank steps and checks, rank 0 alone writes."""
    from ganzoo.plots import plot_fid, plot_losses

    cfg, main = trainer.config, trainer.world.is_main
    last = cfg.steps
    if events.on_start:
        events.on_start(start, last)
    t0 = time.perf_counter()
    with open(run.metrics, "a", buffering=1) if main else contextlib.nullcontext() as log:
        if start == 0 and (record := trainer.track()) is not None:
            log.write(json.dumps(record) + "\n")
        while trainer.step < last:
            stats = trainer.train_step()
            stats.elapsed_s = time.perf_counter() - t0
            if log is not None:
                log.write(json.dumps(stats.as_dict()) + "\n")
            if events.on_step:
                events.on_step(stats)
            final = trainer.step == last
            if (final or trainer.step % max(cfg.fid_every, 1) == 0) and (record := trainer.track()) is not None:
                log.write(json.dumps(record) + "\n")
                if events.on_fid:
                    events.on_fid(record)
            if main and (final or trainer.step % cfg.sample_every == 0):
                trainer.save_samples()
            if final or trainer.step % cfg.checkpoint_every == 0:
                if log is not None:
                    log.flush()
                    os.fsync(log.fileno())  # the metrics up to a checkpoint are on disk before the checkpoint is
                path = trainer.save_checkpoint()  # every rank joins its finiteness check; rank 0 writes
                if path is not None and events.on_checkpoint:
                    events.on_checkpoint(trainer.step, path)
    if main:
        records = run.read_metrics()
        plot_losses(records, run.losses_plot)
        plot_fid({run.root.name: records}, run.fid_plot)
