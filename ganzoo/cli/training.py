"""``ganzoo train``: a run from options or a config file, ``--resume``, ``--nproc`` launches."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from ganzoo.cli.common import SEED, load_registry, progress_events, recipe_options
from ganzoo.cli.completion import source_completer, variant_completer
from ganzoo.config_file import config_option
from ganzoo.errors import ConfigError, GanzooError


def _interrupted(where: str | None) -> str:
    """What Ctrl-C leaves behind: the newest checkpoint's step, and the command that continues from it."""
    from ganzoo.engine.rundir import RunDir

    run = RunDir(Path(where)) if where else None
    if run is None or not run.is_run():
        return "interrupted before the run directory was written; nothing to resume"
    steps = [step for step, _ in run.list_checkpoints()]
    kept = f"the last checkpoint, step {steps[-1]}, is kept" if steps else "no checkpoint had been written yet"
    return f"interrupted; {kept}: continue with `ganzoo train --resume {run.root}`"


def _check_gpu_count(nproc: int, device: str) -> None:
    import torch

    from ganzoo.engine.device import select_device

    if select_device(device).type == "cuda" and nproc > torch.cuda.device_count():
        raise GanzooError(f"--nproc {nproc} needs {nproc} GPUs, this machine has {torch.cuda.device_count()}; "
                          "use fewer processes or --device cpu")


def _rank_argv(ctx: click.Context) -> list[str]:
    """The ``ganzoo train`` command line each rank of ``--nproc`` runs: the options given, less ``--nproc``."""
    from click.core import ParameterSource

    argv = (["--debug"] if ctx.obj and ctx.obj.get("debug") else []) + ["train"]
    for param in ctx.command.params:
        if param.name == "nproc" or ctx.get_parameter_source(param.name) not in (
                ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            continue
        value = ctx.params[param.name]
        if isinstance(param, click.Argument):
            argv.append(str(value))
        elif getattr(param, "is_flag", False):
            argv += [param.opts[0]] if value else []
        elif getattr(param, "multiple", False):
            argv += [part for item in value for part in (param.opts[0], str(item))]
        else:
            argv += [param.opts[0], str(value)]
    return argv


def _network(spec, registry, dataset: str | None, edits: tuple[str, ...]) -> dict | None:
    """The variant's default network options on ``dataset`` changed by ``--net KEY=VALUE`` edits (None when there
    are none)."""
    from ganzoo.engine.config import default_network
    from ganzoo.specs import edited_network

    if not edits:
        return None
    try:
        return edited_network(default_network(spec, registry, dataset), edits)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--net") from None


def _regularisers(spec, edits: tuple[str, ...]) -> dict[str, float] | None:
    """The variant's regularisers changed by ``--reg`` edits (None when there are none: the variant's own)."""
    from ganzoo.specs import edited_regularisers

    try:
        return edited_regularisers(spec.regularisers, edits)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), param_hint="--reg") from None


# options a run keeps for its whole life: with --resume they come from its config.json
_RESUME_OPTIONS = {"steps", "device", "quiet", "resume", "nproc", "log_"}


def _from_file(ctx: click.Context, name: str) -> bool:
    """Whether option ``name`` took its value from a --config file."""
    from click.core import ParameterSource

    return ctx.get_parameter_source(name) == ParameterSource.DEFAULT_MAP


def _names(text: str | None) -> tuple[str, ...]:
    """``"tensorboard, wandb"`` -> ``("tensorboard", "wandb")``."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


def _check_resume_options(ctx: click.Context, resume: str) -> None:
    """With --resume, options may repeat the run's config.json but not change it (except --steps, --device)."""
    from click.core import ParameterSource

    from ganzoo.engine import TrainConfig
    from ganzoo.engine.rundir import resume_dir

    stored = TrainConfig.from_file(resume_dir(Path(resume)).config)
    changed = []
    for param in ctx.command.params:
        if param.name in _RESUME_OPTIONS or ctx.get_parameter_source(param.name) not in (
                ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
            continue
        value = ctx.params[param.name]
        if param.name == "out":
            if Path(value).resolve() != Path(resume).resolve():
                changed.append(param)
        elif getattr(stored, {"compile_": "compile"}.get(param.name, param.name), object()) != value:
            changed.append(param)
    if any(p.name == "variant" for p in changed):
        raise GanzooError(f"{resume} is a {stored.variant!r} run, not {ctx.params['variant']!r}; "
                          "drop VARIANT to resume it")
    if changed:
        names = ", ".join(p.opts[0] for p in changed)
        raise click.UsageError(f"{names} cannot be changed when resuming: the run keeps its config.json "
                               "(only --steps and --device may change with --resume)")


@click.command()
@click.argument("variant", required=False, shell_complete=variant_completer())
@click.option("--dataset", help="mnist (default), fashion-mnist, cifar10, folder:PATH, or a plugin's dataset.")
@click.option("--data-dir", type=click.Path(), help="torchvision-format root holding the dataset.")
@click.option("--steps", type=int, help="Generator steps (default: the variant's).")
@click.option("--batch-size", type=int, help="Global batch (default: the variant's), split evenly across ranks.")
@click.option("--image-size", type=int)
@click.option("--channels", type=int, help="1 or 3 (default: the dataset's).")
@click.option("--z-dim", type=int)
@click.option("--n-critic", type=int, help="Discriminator steps per generator step.")
@click.option("--loss", help="Override the variant's loss (see `ganzoo plugins`).")
@recipe_options
@click.option("--init", metavar="SOURCE", shell_complete=source_completer,
              help="Start from trained weights and fine-tune: pretrained:VARIANT/WEIGHTS, "
              "hf://OWNER/NAME, a run directory or a checkpoint of the same variant and shapes.")
@click.option("--seed", type=SEED, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("--amp", type=click.Choice(["auto", "off", "bf16", "fp16"]), default="auto", show_default=True,
              help="Autocast precision for training; auto: bf16 for images on a CPU with native bf16 (AMX or "
                   "AVX512-BF16; 1.7x faster there, "
                   "same FID per step), fp32 elsewhere. Scoring is always fp32.")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile both networks.")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train data-parallel on this many local processes (one per GPU; gloo on CPU). --batch-size "
                   "stays the global batch. Under torchrun the world comes from torchrun instead.")
@click.option("--fid-every", type=int, help="Score the sampling generator every K steps against the training split "
              "(default: 20 times per run where a cheap extractor fits the dataset; 0: off).")
@click.option("--fid-extractor", help="Feature extractor for --fid-every (default: the dataset's own, e.g. "
              "mnist-classifier on MNIST).")
@click.option("--fid-samples", type=int, help="Samples per FID evaluation while training (default 2048).")
@click.option("--sample-every", type=int, default=500, show_default=True)
@click.option("--checkpoint-every", type=int, default=500, show_default=True)
@click.option("--keep-checkpoints", type=int, default=3, show_default=True)
@click.option("--skip-bad-images", is_flag=True,
              help="Leave out image files that cannot be decoded (warned about, listed in config.json) instead of "
                   "stopping.")
@click.option("--log", "log_", metavar="NAMES",
              help="Loggers beside metrics.jsonl, comma-separated: tensorboard, wandb, or a plugin's.")
@click.option("--out", type=click.Path(), help="Run directory (default: runs/VARIANT-TIMESTAMP).")
@click.option("--resume", type=click.Path(), help="Continue the run in this directory from its last checkpoint.")
@config_option("train", run_config=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def train(ctx, variant, dataset, data_dir, steps, batch_size, image_size, channels, z_dim, n_critic, loss, regs,
          init, nets, lr_g, lr_d, ema_decay, lr_decay, seed, device, amp, compile_, nproc, fid_every, fid_extractor,
          fid_samples, sample_every, checkpoint_every, keep_checkpoints, skip_bad_images, log_, out, resume, config,
          quiet) -> None:
    """Train VARIANT (or continue a run with --resume RUN_DIR).

    Options may come from a file: --config run.toml (keys as the options, e.g. batch-size = 64), or a run's own
    config.json to repeat it.
    """
    import ganzoo
    from ganzoo.engine.distributed import world_from_env
    from ganzoo.engine.launch import launch_local

    if resume and config:
        raise click.UsageError("--config starts a new run; --resume continues one with its own config.json")
    if resume:
        _check_resume_options(ctx, resume)
    world = world_from_env()
    if world.active and _from_file(ctx, "nproc"):
        nproc = 1  # a file's nproc launched this world; inside it, each rank trains
    loggers = _names(log_)
    if nproc > 1:
        if world.active:
            raise click.UsageError("--nproc cannot be combined with torchrun, which already started the processes")
        registry = load_registry()  # the variant and options are checked before any process starts
        if variant and not resume:
            registry.variant(variant)
        _check_gpu_count(nproc, device)
        argv = _rank_argv(ctx)
        if out is None and not resume:  # every rank must agree on the default run directory
            argv += ["--out", os.path.join("runs", f"{variant}-{time.strftime('%Y%m%d-%H%M%S')}")]
        sys.exit(launch_local(nproc, argv))
    registry = load_registry()
    events, state = progress_events(quiet or not world.is_main)
    started = time.perf_counter()
    if not resume and variant:
        out = out or os.path.join("runs", f"{variant}-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        if resume:
            overrides = {"steps": steps, "device": device if device != "auto" else None,
                         "log": loggers if log_ is not None else None}
            run = ganzoo.train(variant or "", resume, resume=True, registry=registry, events=events, **overrides)
        else:
            if not variant:
                raise click.UsageError("give a VARIANT to train (see `ganzoo list`) or --resume RUN_DIR")
            spec = registry.variant(variant)
            run = ganzoo.train(
                variant, out, registry=registry, events=events, dataset=dataset, data_dir=data_dir, steps=steps,
                batch_size=batch_size, image_size=image_size, channels=channels, z_dim=z_dim, n_critic=n_critic,
                loss=loss, regularisers=_regularisers(spec, regs), network=_network(spec, registry, dataset, nets),
                init=init, lr_g=lr_g, lr_d=lr_d, ema_decay=ema_decay, lr_decay=lr_decay,
                seed=seed, device=device, amp=amp, compile=compile_, fid_every=fid_every,
                fid_extractor=fid_extractor, fid_samples=fid_samples, sample_every=sample_every,
                checkpoint_every=checkpoint_every, keep_checkpoints=keep_checkpoints,
                skip_bad_images=skip_bad_images, log=loggers)
    except KeyboardInterrupt:
        if "bar" in state:
            state["bar"].close()
        click.echo(_interrupted(resume or out), err=True)
        sys.exit(130)
    finally:
        if "bar" in state:
            state["bar"].close()
    if not world.is_main:
        return
    grids = sorted(run.samples.glob("*.png"))
    if resume and state.get("first") is not None and state["first"] >= state["bar"].total:
        click.echo(f"{run.root} has already reached step {state['first']}; pass a larger --steps to train longer")
        return
    click.echo(f"trained in {time.perf_counter() - started:.0f} s -> {run.root}")
    if grids:
        click.echo(f"samples: {grids[-1]}")
