"""The Trainer: one step of every variant (``n_critic`` discriminator steps, then one generator step), EMA,
FID tracking and checkpoints of its state (what a checkpoint holds is :mod:`ganzoo.engine.state`). The run around
it (checks, run directory, the loop) is :mod:`ganzoo.engine.training`; what it reports, :mod:`ganzoo.engine.events`."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ganzoo.data import ArrayData, load_dataset
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine import state
from ganzoo.engine.batches import BatchStream
from ganzoo.engine.config import TrainConfig, resolve, run_record
from ganzoo.engine.device import select_device
from ganzoo.engine.distributed import World, rank_device
from ganzoo.engine.ema import EMA
from ganzoo.engine.events import StepStats
from ganzoo.engine.layout import prefer_channels_last
from ganzoo.engine.rundir import RunDir
from ganzoo.errors import CheckpointError, ConfigError, GanzooError
from ganzoo.interfaces import PenaltyInputs, discriminate, generate
from ganzoo.loggers import Loggers
from ganzoo.models import build
from ganzoo.registry import Registry
from ganzoo.specs import LossSpec, RegulariserSpec, VariantSpec


class TrainingDiverged(GanzooError):
    """A loss or weight became NaN or infinite."""


@dataclass
class Fakes:
    """Samples of G before augmentation, still attached to G's graph, and their class labels (if any)."""

    images: torch.Tensor
    labels: torch.Tensor | None = None


@dataclass
class DStep:
    """What one discriminator step produced (all detached but ``fake``)."""

    loss: torch.Tensor  # D's loss, penalties included
    real_scores: torch.Tensor
    fake_scores: torch.Tensor
    penalties: dict[str, torch.Tensor]  # unweighted value of each penalty applied at this step
    real: torch.Tensor  # the real batch D saw (augmented): what a g_uses_real loss compares G's samples with
    real_labels: torch.Tensor | None = None  # its class labels, for a conditional variant
    fakes: Fakes | None = None  # G's samples with their graph, when asked for: what the G step that follows reuses


@dataclass
class GStep:
    """What one generator step produced (detached)."""

    loss: torch.Tensor  # G's loss, penalties included
    penalties: dict[str, torch.Tensor]  # unweighted value of each G-step penalty applied (logged as NAME_g)


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

    def __init__(self, config: TrainConfig, run: RunDir, registry: Registry, world: World | None = None,
                 resume: bool = False) -> None:
        self.request = config  # as asked: config.json records it beside the resolved values where they differ
        self.config = config = resolve(config, registry)
        self.run_dir = run
        self.world = world = world or World()
        self.spec: VariantSpec = registry.variant(config.variant)
        self.loss: LossSpec = registry.loss(config.loss)
        regs = [(registry.regulariser(name), value) for name, value in config.regularisers.items()]
        self.penalties: list[tuple[RegulariserSpec, float]] = [r for r in regs if r[0].penalty is not None]
        self.g_penalties: list[tuple[RegulariserSpec, float]] = [r for r in regs if r[0].g_penalty is not None]
        self.constraints: list[tuple[RegulariserSpec, float]] = [r for r in regs if r[0].after_step is not None]
        self.augments = [spec.augment for spec, _ in regs if spec.augment is not None]
        self.device = rank_device(world, select_device(config.device))
        if config.amp != "off" and self.device.type not in ("cuda", "cpu"):
            raise ConfigError(f"--amp {config.amp} runs on CUDA or CPU, not {self.device.type}")
        self.local_batch = world.split(config.batch_size)

        with world.main_first():  # rank 0 downloads what is missing, the others then read it
            self.data: ArrayData = load_dataset(registry, config.dataset, split="train",
                                                image_size=config.image_size, channels=config.channels,
                                                root=config.data_dir, seed=config.seed,
                                                skip_bad=config.skip_bad_images)
        if len(self.data) < config.batch_size:
            raise ConfigError(f"the dataset has {len(self.data)} samples, fewer than --batch-size "
                              f"{config.batch_size}")
        if self.data.kind == "image":
            self.data = _to_channels(self.data, config.channels, self.spec)
            self.config = config = dataclasses.replace(config, channels=self.data.sample_shape[0])
        data_shape = self.data.sample_shape
        self.num_classes = self._classes(config.dataset)
        self.labels = self.data.labels.to(self.device) if self.num_classes else None
        # generated batches' labels: uniform over the classes, or the training set's class frequencies
        self.label_weights = None
        if self.num_classes:
            counts = torch.bincount(self.data.labels, minlength=self.num_classes).double()
            self.label_weights = (counts if self.spec.fake_labels == "data" else torch.ones_like(counts)).to(
                self.device)

        seed_everything(config.seed)
        try:
            g, d = build(self.spec, data_shape, config.z_dim, self.num_classes, **config.network)
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
        # a resumed run restores its own checkpoint: its --init source is not read again (it may be gone by now)
        init = state.load_initial_weights(self, registry) if config.init and not resume else None
        self.channels_last = prefer_channels_last(self.device, self.G, self.D, data_shape, config.z_dim)
        defaults = self.spec.defaults
        self.opt_g = _with_lr(defaults.g_optimizer, config.lr_g).build(self.G.parameters())
        self.opt_d = _with_lr(defaults.d_optimizer, config.lr_d).build(self.D.parameters())
        self._base_lrs = [[group["lr"] for group in opt.param_groups] for opt in (self.opt_g, self.opt_d)]
        self.ema = EMA(self.G, config.ema_decay) if config.ema_decay else None
        if init is not None and self.ema is not None and any(k.startswith("G_ema.") for k in init):
            ckpt.load_module("G_ema", self.ema.module, init, Path(config.init))
        self.batches = BatchStream(len(self.data), self.local_batch, seed=config.seed, rank=world.rank,
                                   world_size=world.world_size)
        # the sample grids' inputs: 64 noise vectors, or 8 per class (up to 10 classes) for a conditional variant
        grid_rng = torch.Generator().manual_seed(config.seed)
        self.grid_classes = min(self.num_classes, 10)
        self.fixed_noise = torch.randn(8 * self.grid_classes if self.num_classes else 64, config.z_dim,
                                       generator=grid_rng)
        self.fixed_labels = (torch.arange(self.grid_classes).repeat_interleave(8) if self.num_classes else None)
        self.step = 0
        self.train_seconds = 0.0  # in train_step only: what quality-per-minute plots put on their x axis
        self.tracker = None  # FID while training (rank 0 only), see ganzoo.engine.tracking
        if config.fid_every and world.is_main:
            from ganzoo.engine.tracking import FidTracker

            self.tracker = FidTracker.build(registry, config.fid_extractor, config.dataset, config.image_size,
                                            data_shape[0], config.data_dir, config.z_dim, config.fid_samples,
                                            config.seed, self.device)
        self.loggers = Loggers()  # where records and samples go: filled on rank 0 once the run directory is ready
        self.checkpoint_step: int | None = None  # step of the newest checkpoint written or restored
        self.problems: list[tuple[Path, str]] = []  # checkpoints skipped on resume, and why
        # D's step goes through _d_step and G's through _g_step: under data parallelism those are the
        # DistributedDataParallel wrappers, whose backward averages gradients over ranks (G's forward in D's last
        # critic step also goes through _g_step: G's update reuses those samples). G's no-grad forwards in earlier
        # critic steps and D's forward in G's step (its weights frozen) need no gradient sync: plain modules.
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

    def _classes(self, dataset: str) -> int:
        """The class count the networks are built for: the dataset's, for a conditional variant; else 0."""
        if not self.spec.conditional:
            return 0
        if self.data.labels is None or self.data.num_classes < 1:
            raise ConfigError(f"variant {self.spec.name!r} is class-conditional and needs labelled data; dataset "
                              f"{dataset!r} has no labels (use mnist, fashion-mnist, cifar10, or folder:PATH with "
                              "one subfolder per class)")
        return self.data.num_classes

    def _fake_labels(self) -> torch.Tensor | None:
        """Labels for a generated batch (None when unconditional), drawn for the global batch."""
        if self.label_weights is None:
            return None
        return self._mine(torch.multinomial(self.label_weights, self.config.batch_size, replacement=True))

    def _real_batch(self, index: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        rows = self.batches.indices(index)
        batch = self.data.to_model(self.data.data[rows]).to(self.device, non_blocking=True)
        labels = self.labels[rows.to(self.device)] if self.labels is not None else None
        return (batch.contiguous(memory_format=torch.channels_last) if self.channels_last else batch), labels

    @staticmethod
    def _add_penalties(loss: torch.Tensor, penalties: list[tuple[RegulariserSpec, float]], role: str,
                       inputs: PenaltyInputs, index: int, terms: dict[str, torch.Tensor]) -> torch.Tensor:
        """``loss`` plus ``value * every * term`` for each penalty due at step ``index``; logs each term."""
        for spec, value in penalties:
            if index % spec.every == 0:
                term = getattr(spec, role)(inputs)
                terms[spec.name if role == "penalty" else f"{spec.name}_g"] = term.detach()
                loss = loss + (value * spec.every) * term
        return loss

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

    def d_step(self, index: int, keep_fake: bool = False) -> DStep:
        """One discriminator update on real batch ``index`` and fresh noise (and labels, for a conditional variant).

        D minimises the adversarial loss plus each active penalty times its value; each constraint then acts on D's
        weights; augmentations apply to everything D sees. The engine knows regularisers only by these roles.
        With ``keep_fake`` G's forward keeps its graph and the samples come back in ``fakes``, for the G step.
        """
        self.D.requires_grad_(True)
        terms: dict[str, torch.Tensor] = {}
        real, real_labels = self._real_batch(index)
        z, fake_labels = self._noise(), self._fake_labels()
        with self._autocast():
            with torch.set_grad_enabled(keep_fake):
                generated = generate(self._g_step if keep_fake else self._g_plain, z, fake_labels)
            real, fake = self._augment(real), self._augment(generated.detach())
            real_scores = discriminate(self._d_step, real, real_labels)
            fake_scores = discriminate(self._d_step, fake, fake_labels)
            d_loss = self.loss.d_loss(real_scores.float(), fake_scores.float())
        if self.penalties:
            # eager D: compiled graphs do not support the double backward most penalties need
            # penalties run outside autocast, in float32: G's bf16/fp16 output is cast back for them
            inputs = PenaltyInputs(self.D, real.detach().float(), fake.detach().float(), self._uniform, real_labels,
                                   fake_labels)
            d_loss = self._add_penalties(d_loss, self.penalties, "penalty", inputs, index, terms)
        self._backward_step(d_loss, self.opt_d, "D")
        for spec, value in self.constraints:
            with torch.no_grad():
                spec.after_step(self.D, value)
        return DStep(d_loss.detach(), real_scores.detach(), fake_scores.detach(), terms, real.detach(), real_labels,
                     Fakes(generated, fake_labels) if keep_fake else None)

    def g_step(self, real: torch.Tensor | None = None, real_labels: torch.Tensor | None = None,
               fakes: Fakes | None = None) -> GStep:
        """One generator update, D's weights fixed (its parameter gradients are not computed at all); then the EMA
        follows G and ``step`` advances. Returns G's loss and its penalties.

        ``real`` (with ``real_labels``) is what D's last step saw, for a loss whose G side needs D's scores on real
        data (``g_uses_real``) and for G-step penalties; without it they use real batch ``step * n_critic``.
        ``fakes`` are the samples D's last step drew, graph attached: G learns from them, as in the reference DCGAN
        loop, instead of running its forward a second time; without them G draws fresh ones.
        """
        self.D.requires_grad_(False)
        terms: dict[str, torch.Tensor] = {}
        if real is None and (self.loss.g_uses_real or self.g_penalties):
            real, real_labels = self._real_batch(self.step * self.config.n_critic)
            real = self._augment(real)
        with self._autocast():
            if fakes is None:
                z, labels = self._noise(), self._fake_labels()
                fakes = Fakes(generate(self._g_step, z, labels), labels)
            fake, fake_labels = self._augment(fakes.images), fakes.labels
            fake_scores_g = discriminate(self._d_plain, fake, fake_labels).float()
            real_for_g = discriminate(self._d_plain, real, real_labels).float() if self.loss.g_uses_real else None
            g_loss = self.loss.g_loss(fake_scores_g, real_for_g)
        if self.g_penalties:
            inputs = PenaltyInputs(self.D, real.detach().float(), fake.float(), self._uniform, real_labels,
                                   fake_labels)
            g_loss = self._add_penalties(g_loss, self.g_penalties, "g_penalty", inputs, self.step, terms)
        self._backward_step(g_loss, self.opt_g, "G")
        if self.ema is not None:
            self.ema.update(self.G, self.step)
        self.step += 1
        return GStep(g_loss.detach(), terms)

    def train_step(self) -> StepStats:
        """``n_critic`` D steps (each on a fresh real batch) then one G step; returns the last values seen."""
        cfg = self.config
        started = time.perf_counter()
        if cfg.lr_decay:  # a pure function of the step, so a resumed run continues the schedule exactly
            factor = lr_factor(self.step, cfg.steps, cfg.lr_decay)
            for opt, bases in zip((self.opt_g, self.opt_d), self._base_lrs, strict=True):
                for group, base in zip(opt.param_groups, bases, strict=True):  # restoring replaces the groups
                    group["lr"] = base * factor
        terms: dict[str, torch.Tensor] = {}
        for k in range(cfg.n_critic):
            d = self.d_step(self.step * cfg.n_critic + k, keep_fake=k == cfg.n_critic - 1)
            terms.update(d.penalties)
        g = self.g_step(d.real, d.real_labels, d.fakes)
        terms.update(g.penalties)

        # one device sync per step for everything that is logged
        logged = [d.loss, g.loss, d.real_scores.float().mean(), d.fake_scores.float().mean(), *terms.values()]
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
        tensors, meta = state.training_state(self)
        path = self.run_dir.checkpoint(self.step)
        ckpt.save_tensors(path, tensors, meta)
        self.checkpoint_step = self.step
        for _, old in self.run_dir.list_checkpoints()[: -self.config.keep_checkpoints]:
            old.unlink(missing_ok=True)
        return path

    def load_checkpoint(self, path: Path) -> int:
        """Restore networks, EMA, optimizers, RNGs and step from ``path``; raises :class:`CheckpointError`."""
        return state.restore_training_state(self, path)

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
        """Log the fixed-noise samples at this step to the run's loggers (the grid PNG among them, one labelled
        row of 8 per class for a conditional variant); returns the grid's path."""
        if self.fixed_labels is None:
            self.loggers.log_samples(self.samples(), self.data.kind, self.step)
        else:
            self.loggers.log_class_samples(self.samples(), self.data.kind, self.step, self.fixed_labels,
                                           self.data.names())
        return self.run_dir.sample_grid(self.step)

    def samples(self) -> torch.Tensor:
        """The sampling generator's output for the run's fixed noise (CPU float), in eval mode."""
        g = self.sampler
        was_training = g.training
        g.eval()
        labels = self.fixed_labels.to(self.device) if self.fixed_labels is not None else None
        with torch.no_grad():
            x = generate(g, self.fixed_noise.to(self.device), labels).float().cpu()
        g.train(was_training)
        return x

    def record(self, previous: dict | None = None) -> str:
        """The text of config.json: the resolved options with the device in use, the request where it differs, and
        what the data turned out to be."""
        data = {"kind": self.data.kind, "train_samples": len(self.data), "shape": list(self.data.sample_shape),
                "num_classes": self.data.num_classes, "classes": list(self.data.class_names),
                "preprocessing": self.data.preprocessing, "skipped": list(self.data.skipped)}
        resolved = dataclasses.replace(self.config, device=str(self.device))
        return run_record(resolved, self.request, data, previous)


def _to_channels(data: ArrayData, asked: int | None, spec: VariantSpec) -> ArrayData:
    """Images in a channel count the variant takes: without ``--channels``, data in a count it does not support is
    converted to its first supported one (grayscale to RGB or back)."""
    from ganzoo.data.transforms import convert_channels

    if asked is not None or data.sample_shape[0] in spec.channels:  # resolve() checked an asked-for count
        return data
    return dataclasses.replace(data, data=convert_channels(data.data, spec.channels[0]))


def _has_batchnorm(net: torch.nn.Module) -> bool:
    return any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in net.modules())


def lr_factor(step: int, steps: int, decay: float) -> float:
    """The multiplier of both base learning rates at generator step ``step`` (0-based) of ``steps``: 1, then
    falling linearly over the last ``decay`` fraction of the run to ``1 / (decay * steps)`` at the last step."""
    span = decay * steps
    return 1.0 if span <= 0 else min(1.0, (steps - step) / span)


def _with_lr(opt, lr):
    from dataclasses import replace

    return replace(opt, lr=lr) if lr else opt
