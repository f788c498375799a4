"""``train()``: one run from its first (or resumed) step to its last: every check before anything is written,
the run directory and its lock, loggers, the loop over steps with FID tracking, samples and checkpoints, and the
plots at the end. The steps themselves are :class:`ganzoo.engine.loop.Trainer`'s."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.config import TrainConfig
from ganzoo.engine.contention import check_cpu
from ganzoo.engine.device import select_device
from ganzoo.engine.distributed import RANK0_FAILED, World, join, leave, world_from_env
from ganzoo.engine.events import Events
from ganzoo.engine.loop import Trainer
from ganzoo.engine.rundir import RunDir, RunLock, resume_dir
from ganzoo.errors import ConfigError, GanzooError
from ganzoo.loggers import LoggerContext, open_loggers
from ganzoo.registry import Registry


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
    if resume:
        resume_dir(run.root)
    else:
        run.check_new()  # read-only, on every rank
    lock = RunLock(run)
    if resume:  # the lock comes first: nothing may change the checkpoints while they are read
        _on_main(world, lock.acquire)
    try:
        if config.init and not resume:  # config.json must name the same weights from any working directory
            from ganzoo.pretrained import is_remote_source

            if not is_remote_source(config.init):
                config = dataclasses.replace(config, init=str(Path(config.init).resolve()))
        trainer = Trainer(config, run, registry, world, resume)  # options, device, data, networks; nothing written
        start = trainer.restore_latest() if resume else 0
        world.barrier()  # every rank has read its checkpoint: rank 0 may set bad ones aside now

        def prepare() -> None:
            if resume:
                _prepare_resumed(trainer, run, start, events)
            else:
                _prepare_new(trainer, run, lock, events)
            context = LoggerContext(run, json.loads(run.config.read_text()), start)
            trainer.loggers = open_loggers(registry, trainer.config.log, context)  # rank 0 alone logs

        try:
            _on_main(world, prepare)
            _run_loop(trainer, run, start, events)
        finally:
            trainer.loggers.close()
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
    ckpt.atomic_write(run.config, lambda tmp: Path(tmp).write_text(trainer.record()))
    _note(trainer, events, 0)


def _prepare_resumed(trainer: Trainer, run: RunDir, start: int, events: Events) -> None:
    if trainer.config.steps < start:
        raise ConfigError(f"--steps {trainer.config.steps} is below step {start}, which the run in "
                          f"{run.root} has already reached")
    for i, (path, reason) in enumerate(trainer.problems, start=1):
        moved = run.set_aside(path)
        outcome = (f"; resuming from step {start}: the run's metrics and sample grids after step {start} are dropped "
                   "and redone") if i == len(trainer.problems) else ""
        events.warn(f"{reason}; the bad file is kept as {moved.name}{outcome}")
    if start == 0 and not trainer.problems:
        events.warn(f"{run.root} has no checkpoint to resume from: training from step 0 (any metrics and sample "
                    "grids it holds are redone)")
    _note(trainer, events, start)
    run.remove_temp_files()
    run.create()
    run.truncate_metrics(start)
    run.truncate_samples(start)
    try:
        previous = json.loads(run.config.read_text())
    except (OSError, ValueError):
        previous = None
    ckpt.atomic_write(run.config, lambda tmp: Path(tmp).write_text(trainer.record(previous)))


_LOAD_CHECK_STEPS = 100  # runs with this many steps to go are worth the check's 0.3 s of sleep


def _note(trainer: Trainer, events: Events, start: int) -> None:
    if (trainer.device.type == "cpu" and not trainer.world.active
            and trainer.config.steps - start >= _LOAD_CHECK_STEPS):
        warning = check_cpu(torch.get_num_threads())
        if warning:
            events.warn(warning)
    if trainer.world.active:
        events.info(f"training on {trainer.world.world_size} processes ({trainer.device.type}), "
                    f"{trainer.local_batch} of the global batch {trainer.config.batch_size} each")
    for note in trainer.notes:
        events.warn(note)
    skipped = trainer.data.skipped
    if skipped:
        shown = "; ".join(skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
        events.warn(f"skipped {len(skipped)} unreadable image file{'s' * (len(skipped) > 1)} (all listed in "
                    f"{trainer.run_dir.config} under data.skipped): {shown}")


def _run_loop(trainer: Trainer, run: RunDir, start: int, events: Events) -> None:
    """Train to ``config.steps``; every rank steps and checks, rank 0 alone logs (its loggers are empty elsewhere)."""
    from ganzoo.plots import plot_fid, plot_losses

    cfg, main, loggers = trainer.config, trainer.world.is_main, trainer.loggers
    last = cfg.steps
    if events.on_start:
        events.on_start(start, last)
    t0 = time.perf_counter()
    if start == 0 and (record := trainer.track()) is not None:
        loggers.log(record)
    while trainer.step < last:
        stats = trainer.train_step()
        stats.elapsed_s = time.perf_counter() - t0
        loggers.log(stats.as_dict())
        if events.on_step:
            events.on_step(stats)
        final = trainer.step == last
        if (final or trainer.step % max(cfg.fid_every, 1) == 0) and (record := trainer.track()) is not None:
            loggers.log(record)
            if events.on_fid:
                events.on_fid(record)
        if main and (final or trainer.step % cfg.sample_every == 0):
            trainer.save_samples()
        if final or trainer.step % cfg.checkpoint_every == 0:
            loggers.flush()  # the metrics up to a checkpoint are on disk before the checkpoint is
            path = trainer.save_checkpoint()  # every rank joins its finiteness check; rank 0 writes
            if path is not None and events.on_checkpoint:
                events.on_checkpoint(trainer.step, path)
    if main:
        loggers.close()
        records = run.read_metrics()
        plot_losses(records, run.losses_plot, title=f"{run.root.name}: {cfg.variant} on {cfg.dataset}")
        plot_fid({run.root.name: records}, run.fid_plot)
