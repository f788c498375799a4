"""The ``ganzoo`` command line: parses options, calls the API, prints. Nothing else lives here."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import warnings
from pathlib import Path

import click

from ganzoo import __version__
from ganzoo.config_file import config_option
from ganzoo.errors import GanzooError


def _registry():
    from ganzoo.plugins import PluginLoadWarning, get_registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        registry = get_registry()
    for name, error in sorted(registry.load_errors.items()):
        click.echo(f"warning: plugin {name!r} skipped: {error}", err=True)
    return registry


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganzoo")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """ganzoo: a plugin-based GAN zoo. Train, sample and benchmark GAN variants."""
    ctx.ensure_object(dict)["debug"] = debug


# --- list / info / plugins ---------------------------------------------------------------------------------------

def _variant_row(registry, name: str) -> dict:
    entry = registry.entry("variant", name)
    spec = entry.spec
    weights = [registry.get("pretrained", key) for key in registry.names("pretrained", f"{name}/*")]
    return {"name": spec.name, "summary": spec.summary, "loss": spec.loss, "n_critic": spec.defaults.n_critic,
            "image_sizes": list(spec.image_sizes), "channels": list(spec.channels),
            "data": list(spec.data_kinds), "paper": spec.paper, "plugin": entry.plugin,
            "conditional": spec.conditional,
            "pretrained": [{"name": w.weights, "source": w.source, "summary": w.summary, "scores": dict(w.scores)}
                           for w in weights]}


@cli.command("list")
@click.argument("pattern", default="*")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def list_cmd(pattern: str, as_json: bool) -> None:
    """List registered variants (optionally matching a glob PATTERN such as 'wgan*')."""
    registry = _registry()
    rows = [_variant_row(registry, n) for n in registry.names("variant", pattern)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        raise GanzooError(f"no variant matches {pattern!r}")
    table = [("NAME", "SUMMARY", "LOSS", "SIZES", "WEIGHTS", "PLUGIN")] + [
        (r["name"], r["summary"], r["loss"], ",".join(map(str, r["image_sizes"])),
         ",".join(w["name"] for w in r["pretrained"]) or "-", r["plugin"]) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


@cli.command()
@click.argument("name")
def info(name: str) -> None:
    """Show everything about variant NAME: paper, loss, defaults, supported shapes, parameter counts."""
    from ganzoo.models import build, data_shape_for, default_classes

    registry = _registry()
    entry = registry.entry("variant", name)
    spec = entry.spec
    d = spec.defaults
    shape = data_shape_for(spec, d.image_size, spec.channels[0]) if "image" in spec.data_kinds else (2,)
    g, disc = build(spec, shape, num_classes=default_classes(spec, registry),
                    **(d.network if len(shape) == 3 else {}))
    networks = ", ".join(f"{k}={v}" for k, v in d.network.items()) or "the network builders' own defaults"
    lines = [
        f"{spec.name}: {spec.summary}",
        f"  paper:          {spec.paper or '-'}",
        f"  plugin:         {entry.plugin}",
        f"  loss:           {spec.loss}",
        f"  data:           {', '.join(spec.data_kinds)}; image sizes {', '.join(map(str, spec.image_sizes))}; "
        f"channels {', '.join(map(str, spec.channels))}",
        f"  n_critic:       {d.n_critic}",
        f"  G optimizer:    {d.g_optimizer.name} lr={d.g_optimizer.lr} betas={d.g_optimizer.betas}",
        f"  D optimizer:    {d.d_optimizer.name} lr={d.d_optimizer.lr} betas={d.d_optimizer.betas}",
        f"  defaults:       steps={d.steps}{f' (points: {d.point_steps})' if d.point_steps else ''} "
        f"batch_size={d.batch_size} z_dim={d.z_dim} "
        f"image_size={d.image_size} dataset={d.dataset} ema_decay={d.ema_decay}"
        f"{f' lr_decay={d.lr_decay:g}' if d.lr_decay else ''}",
        f"  regularisers:   {', '.join(f'{k}={v:g}' for k, v in spec.regularisers.items()) or '-'}",
        f"  networks:       {networks}{'; class-conditional' if spec.conditional else ''}",
        f"  parameters:     G {sum(p.numel() for p in g.parameters()):,}, "
        f"D {sum(p.numel() for p in disc.parameters()):,} (at {'x'.join(map(str, shape))})",
    ]
    for weights in _variant_row(registry, name)["pretrained"]:
        scores = ", ".join(f"{k} {v:.4g}" for k, v in weights["scores"].items())
        lines.append(f"  pretrained:     {weights['name']}: {weights['summary']}{'; ' + scores if scores else ''} "
                     f"(ganzoo sample {name} --pretrained {weights['name']})")
    click.echo("\n".join(lines))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def plugins(as_json: bool) -> None:
    """List discovered plugins: distribution, version, what each registered, and load errors."""
    from ganzoo.plugins import PluginLoadWarning, get_plugins

    with warnings.catch_warnings():  # a broken or clashing plugin is what this command is for: show, don't fail
        warnings.simplefilter("ignore", PluginLoadWarning)
        get_plugins().build_registry(strict=False)
    infos = list(get_plugins().infos.values())
    if as_json:
        click.echo(json.dumps([{**i.__dict__, "builtin": i.builtin} for i in infos], indent=2))
        return
    for info_ in infos:
        origin = f"{info_.distribution} {info_.version}".strip() or "?"
        click.echo(f"{info_.name} ({info_.module}, {origin})")
        if info_.error:
            click.echo(f"    FAILED: {info_.error}")
        for kind, names in sorted(info_.registered.items()):
            click.echo(f"    {kind}: {', '.join(names)}")


# --- train / sample ----------------------------------------------------------------------------------------------

def _progress_events(quiet: bool):
    from tqdm import tqdm

    from ganzoo.engine import Events

    state: dict = {}

    def on_start(first: int, last: int) -> None:
        # a finished run resumed has nothing to draw: no bar, the caller says so
        state["bar"] = tqdm(total=last, initial=first, unit="step", disable=quiet or first >= last,
                            dynamic_ncols=True)
        state["first"] = first

    def on_step(stats) -> None:
        bar = state["bar"]
        fid = {"fid": f"{state['fid']:.1f}"} if "fid" in state else {}
        bar.set_postfix(d=f"{stats.d_loss:.3f}", g=f"{stats.g_loss:.3f}", img_s=f"{stats.images_per_s:.0f}",
                        **fid, refresh=False)
        bar.update(1)

    def on_fid(record: dict) -> None:
        state["fid"] = record["fid"]

    def on_warning(message: str) -> None:
        click.echo(f"warning: {_one_line(message)}", err=True)

    def on_info(message: str) -> None:
        click.echo(_one_line(message), err=True)

    return Events(on_start=on_start, on_step=on_step, on_warning=on_warning, on_info=on_info, on_fid=on_fid), state


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


def _network(spec, edits: tuple[str, ...]) -> dict | None:
    """The variant's default network options changed by ``--net KEY=VALUE`` edits (None when there are none)."""
    if not edits:
        return None
    options = dict(spec.defaults.network)
    for edit in edits:
        key, sep, value = edit.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{edit!r} is not KEY=VALUE", param_hint="--net")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            raise click.BadParameter(f"{edit!r}: {value!r} is not a JSON value (a number, true/false, null, or a "
                                     'string in double quotes)', param_hint="--net") from None
    return options


def _regularisers(spec, edits: tuple[str, ...]) -> dict[str, float] | None:
    """The variant's regularisers changed by ``--reg`` edits (None when there are none: the variant's own)."""
    if not edits:
        return None
    regs = dict(spec.regularisers)
    for edit in edits:
        if edit.strip().lower() == "none":
            regs.clear()
            continue
        name, sep, value = edit.partition("=")
        name = name.strip()
        if not sep or not name:
            raise click.BadParameter(f"{edit!r} is not NAME=VALUE (or NAME=off, or none)", param_hint="--reg")
        if value.strip().lower() == "off":
            regs.pop(name, None)
            continue
        try:
            regs[name] = float(value)
        except ValueError:
            raise click.BadParameter(f"{edit!r}: {value!r} is not a number", param_hint="--reg") from None
    return regs


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

    from ganzoo.engine import TrainConfig, find_run

    stored = TrainConfig.from_file(find_run(Path(resume)).config)
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


@cli.command()
@click.argument("variant", required=False)
@click.option("--dataset", help="mnist (default), fashion-mnist, cifar10, folder:PATH, or a plugin's dataset.")
@click.option("--data-dir", type=click.Path(), help="torchvision-format root holding the dataset.")
@click.option("--steps", type=int, help="Generator steps (default: the variant's).")
@click.option("--batch-size", type=int, help="Global batch (default: the variant's), split evenly across ranks.")
@click.option("--image-size", type=int)
@click.option("--channels", type=int, help="1 or 3 (default: the dataset's).")
@click.option("--z-dim", type=int)
@click.option("--n-critic", type=int, help="Discriminator steps per generator step.")
@click.option("--loss", help="Override the variant's loss (see `ganzoo plugins`).")
@click.option("--reg", "regs", multiple=True, metavar="NAME=VALUE",
              help="Add or change a regulariser of the variant (r1=10, gradient_penalty=10, weight_clip=0.01); "
                   "NAME=off drops one, 'none' drops all. Repeatable.")
@click.option("--init", metavar="SOURCE", help="Start from trained weights and fine-tune: pretrained:VARIANT/WEIGHTS, "
              "hf://OWNER/NAME, a run directory or a checkpoint of the same variant and shapes.")
@click.option("--net", "nets", multiple=True, metavar="KEY=VALUE",
              help="Set an option of the variant's network builders (e.g. g_width=64, output_bias=true; values "
                   "are JSON). Repeatable; `ganzoo info VARIANT` shows the defaults.")
@click.option("--lr-g", type=float)
@click.option("--lr-d", type=float)
@click.option("--ema-decay", type=float, help="EMA of G's weights; 0 disables.")
@click.option("--lr-decay", type=float, metavar="FRACTION",
              help="Both learning rates fall linearly to 0 over this last fraction of the run (0: constant; "
                   "default: the variant's).")
@click.option("--seed", type=int, default=0, show_default=True)
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
        registry = _registry()  # the variant and options are checked before any process starts
        if variant and not resume:
            registry.variant(variant)
        _check_gpu_count(nproc, device)
        argv = _rank_argv(ctx)
        if out is None and not resume:  # every rank must agree on the default run directory
            argv += ["--out", os.path.join("runs", f"{variant}-{time.strftime('%Y%m%d-%H%M%S')}")]
        sys.exit(launch_local(nproc, argv))
    registry = _registry()
    events, state = _progress_events(quiet or not world.is_main)
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
                loss=loss, regularisers=_regularisers(spec, regs), network=_network(spec, nets), init=init, lr_g=lr_g,
                lr_d=lr_d, ema_decay=ema_decay, lr_decay=lr_decay,
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


@cli.command()
@click.argument("source", type=click.Path())
@click.option("-n", "--num", type=int, default=64, show_default=True, help="How many samples.")
@click.option("-o", "--output", type=click.Path(), default="samples.png", show_default=True,
              help="A .png grid, a directory (ending in /) for one PNG per sample, or with --interpolate a .png "
                   "strip or a .gif.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--class", "class_", help="Conditional runs: sample this class (its index or its name); with "
              "--interpolate, the class to walk at.")
@click.option("--per-class", type=int, help="Conditional runs: a grid with this many samples per class, one "
              "labelled row per class.")
@click.option("--nrow", type=click.IntRange(min=1), help="Images per row of a .png grid (default: a square grid).")
@click.option("--truncation", type=float, metavar="PSI",
              help="Truncation trick, PSI in (0, 1]: noise scaled toward its mean by PSI (1: none); lower trades "
                   "variety for typical samples.")
@click.option("--interpolate", metavar="SEED_A,SEED_B",
              help="A latent walk: --frames samples on the great circle (slerp) from seed A's noise to seed B's.")
@click.option("--frames", type=click.IntRange(min=2), default=8, show_default=True,
              help="Frames of an --interpolate walk.")
@click.option("--pretrained", metavar="WEIGHTS",
              help="Sample trained weights that ship with ganzoo or a plugin: SOURCE is then a variant name "
                   "(`ganzoo sample dcgan --pretrained mnist`); `ganzoo list` shows which exist.")
@click.option("--device", default="cpu", show_default=True)
@click.pass_context
def sample(ctx: click.Context, source: str, num: int, output: str, seed: int, class_: str | None,
           per_class: int | None, nrow: int | None, truncation: float | None, interpolate: str | None, frames: int,
           pretrained: str | None, device: str) -> None:
    """Draw samples from a run directory, a checkpoint file, or trained weights SOURCE (pretrained:VARIANT/WEIGHTS,
    hf://OWNER/NAME, a model folder)."""
    from click.core import ParameterSource

    import ganzoo
    from ganzoo.latent import check_truncation
    from ganzoo.plots import save_class_grid, save_gif, save_image, save_samples

    if num <= 0:
        raise GanzooError(f"-n must be a positive integer, got {num}")
    if per_class is not None and (per_class <= 0 or class_ is not None):
        raise GanzooError("--per-class takes a positive integer and cannot be combined with --class")
    check_truncation(truncation)
    seeds = _seed_pair(interpolate) if interpolate is not None else None
    if seeds is None and ctx.get_parameter_source("frames") == ParameterSource.COMMANDLINE:
        raise click.UsageError("--frames is for --interpolate SEED_A,SEED_B")
    if seeds is not None and ctx.get_parameter_source("num") == ParameterSource.COMMANDLINE:
        raise click.UsageError("--interpolate draws --frames images; -n does not apply")
    if seeds is not None and per_class is not None:
        raise click.UsageError("--interpolate walks at one class: use --class, not --per-class")
    out = Path(output)
    per_file = output.endswith(("/", os.sep)) or out.is_dir()
    gif = out.suffix.lower() == ".gif"
    if per_file:
        if out.exists() and not out.is_dir():
            raise GanzooError(f"output {output!r} exists and is not a directory")
        if seeds is not None:
            raise GanzooError("--interpolate writes one .png strip or one .gif, not a directory")
        if per_class is not None:
            raise GanzooError("--per-class draws one labelled grid: give a .png output")
    else:
        if gif and seeds is None:
            raise GanzooError(f"a .gif output ({output!r}) is for --interpolate; use a .png grid")
        if out.suffix.lower() not in (".png", ".gif"):
            raise GanzooError(f"output {output!r} must end in .png (a strip) or .gif" if seeds is not None else
                              f"output {output!r} must end in .png (a grid) or / (a directory)")
        if not out.parent.is_dir():
            raise GanzooError(f"output directory {out.parent} does not exist")
    if pretrained is not None:
        source = f"pretrained:{source}/{pretrained}"
    run = ganzoo.load(source, device=device, registry=_registry())
    for problem in run.skipped:
        click.echo(f"warning: skipped checkpoint {problem}", err=True)
    if (class_ is not None or per_class is not None) and not run.num_classes:
        raise GanzooError(f"this {run.spec.name!r} run is unconditional: --class and --per-class need a "
                          "class-conditional run")
    labels = _class_index(class_, run.class_names) if class_ is not None else None
    which = f", class {run.class_names[labels]}" if labels is not None else ""
    psi = f", truncation {truncation:g}" if truncation is not None else ""
    if seeds is not None:
        x = ganzoo.interpolate(run, *seeds, frames, truncation=truncation, label=labels)
        if gif:
            if x.dim() != 4:
                raise GanzooError("a .gif walk is for image variants; use a .png path")
            save_gif(x, out)
        else:
            save_samples(x, out, kind="image" if x.dim() == 4 else "points", nrow=nrow or len(x))
        click.echo(f"wrote {out} ({len(x)} frames from seed {seeds[0]} to {seeds[1]}, {run.spec.name} step "
                   f"{run.step}{which}{psi})")
        return
    if per_class is not None:
        labels = _per_class_labels(run.num_classes, per_class)
        num = len(labels)
    x = ganzoo.sample(run, num, seed=seed, truncation=truncation, labels=labels)
    if per_file:
        if len(x.shape) != 4:
            raise GanzooError("one-file-per-sample output is for image variants; use a .png path")
        out.mkdir(parents=True, exist_ok=True)
        for i in range(len(x)):
            save_image(x[i], out / f"sample_{i:06d}.png")  # exactly the pixels: no grid border
        click.echo(f"wrote {len(x)} images to {out}")
        return
    if per_class is not None:
        save_class_grid(x, labels, run.class_names, out)
    else:
        save_samples(x, out, kind="image" if x.dim() == 4 else "points", nrow=nrow)
    click.echo(f"wrote {out} ({num} samples from {run.spec.name} step {run.step}, seed {seed}{which}{psi})")


def _class_index(text: str, names: tuple[str, ...]) -> int:
    """``--class`` as an index: a class name, or an integer in range."""
    if text in names:
        return names.index(text)
    try:
        index = int(text)
    except ValueError:
        raise GanzooError(f"--class {text!r} is neither a class index nor a class name "
                          f"({', '.join(names[:10])}{', ...' if len(names) > 10 else ''})") from None
    if not 0 <= index < len(names):
        raise GanzooError(f"--class {index} is out of range: this run has classes 0-{len(names) - 1}")
    return index


def _per_class_labels(classes: int, per_class: int):
    """Labels 0,0,..,1,1,.. with ``per_class`` of each class."""
    import torch

    return torch.arange(classes).repeat_interleave(per_class)


def _seed_pair(text: str) -> tuple[int, int]:
    parts = [part.strip() for part in text.split(",")]
    try:
        seeds = [int(part) for part in parts]
    except ValueError:
        seeds = []
    if len(seeds) != 2 or any(s < 0 for s in seeds):
        raise click.BadParameter(f"{text!r} is not two non-negative seeds, e.g. 3,7", param_hint="--interpolate")
    return seeds[0], seeds[1]


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Benchmark every registered variant that fits the dataset.")
@click.option("--dataset", help="Dataset to train on and score against (default: the variant's; with --run, "
              "--checkpoint or --pretrained: what the weights trained on).")
@click.option("--data-dir", type=click.Path())
@click.option("--steps", type=int, help="Training steps (default: the variant's).")
@click.option("--batch-size", type=int, help="Training batch size (default: the variant's).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--seeds", help="Several seeds, comma-separated (0,1,2): one benchmark each, then mean ± sd.")
@click.option("--device", default="auto", show_default=True)
@click.option("--amp", type=click.Choice(["auto", "off", "bf16", "fp16"]), default="auto", show_default=True,
              help="Training precision, as for `ganzoo train`; scoring is always fp32.")
@click.option("--num-samples", type=int, help="Generated and real samples per score (default: 2100 for images).")
@click.option("--extractor", "extractors", multiple=True, help="Feature extractor(s) (default: all that apply).")
@click.option("--run", "run_dir", type=click.Path(), help="Score an existing run directory instead of training.")
@click.option("--checkpoint", type=click.Path(), help="Score this checkpoint file instead of training.")
@click.option("--pretrained", metavar="WEIGHTS", help="Score each named variant's trained weights WEIGHTS (e.g. mnist) "
              "instead of training: no training at all.")
@click.option("--out", type=click.Path(),
              help="Report directory (default: bench-runs/NAME-DATASET-sSEED; with --run / --checkpoint, "
                   "bench-runs/NAME-scored-RUNDIR; with --pretrained W, bench-runs/NAME-pretrained-W-sSEED).")
@config_option("bench")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def bench(names, all_, dataset, data_dir, steps, batch_size, seed, seeds, device, amp, num_samples, extractors,
          run_dir, checkpoint, pretrained, out, config, quiet) -> None:
    """Train (or load) variants, sample them and score them; writes metrics.json and report.md / .html.

    A finished run of the same configuration in the report directory is reused (said even with -q); options may
    come from a TOML file (--config bench.toml, keys as the options).
    """
    from ganzoo.bench import BenchConfig, compare, run_bench, summarize_seeds

    seed_list = _seed_list(seeds) if seeds else [seed]
    if seeds and (run_dir or checkpoint):
        raise click.UsageError("--seeds trains one run per seed; it cannot score a given --run / --checkpoint")
    registry = _registry()
    if all_:
        names = tuple(n for n in registry.names("variant") if _fits(registry, n, dataset))
        if not names:
            raise GanzooError(f"no registered variant trains on dataset {dataset!r}")
    if not names and not (run_dir or checkpoint):
        raise click.UsageError("name a variant (see `ganzoo list`), use --all, or score a --run / --checkpoint")
    if (run_dir or checkpoint) and len(names) > 1:
        raise click.UsageError("--run / --checkpoint score one run; name at most one variant")
    if pretrained is not None and (run_dir or checkpoint or seeds or not names):
        raise click.UsageError("--pretrained scores the named variants' weights: give variant names, without --run, "
                               "--checkpoint or --seeds")
    if pretrained is not None:  # every named variant must have the weights before anything is scored
        given = [flag for flag, value in (("--steps", steps), ("--batch-size", batch_size),
                                          ("--amp", None if amp == "auto" else amp)) if value is not None]
        if given:
            raise click.UsageError(f"--pretrained scores the weights as trained: {', '.join(given)} "
                                   f"{'does' if len(given) == 1 else 'do'} not apply")
        if all_:
            names = tuple(n for n in names if f"{n}/{pretrained}" in registry.names("pretrained"))
            if not names:
                raise GanzooError(f"no variant has pretrained weights {pretrained!r} (see `ganzoo list`)")
        for name in names:
            registry.pretrained(name, pretrained)
    results = []
    for name in names or (None,):
        per_seed = []
        for one_seed in seed_list:
            where = None
            if out:
                where = os.path.join(out, *([name] if len(names) > 1 else []),
                                     *([f"s{one_seed}"] if len(seed_list) > 1 else []))
            config = BenchConfig(variant=name, dataset=dataset, data_dir=data_dir, steps=steps,
                                 batch_size=batch_size, seed=one_seed, device=device, amp=amp,
                                 num_samples=num_samples,
                                 extractors=tuple(extractors), checkpoint=checkpoint, out=where,
                                 run=f"pretrained:{name}/{pretrained}" if pretrained is not None else run_dir)
            events, state = _progress_events(quiet)

            def log(message: str, state: dict = state) -> None:
                if "bar" in state:
                    state.pop("bar").close()
                if not quiet:
                    click.echo(message, err=True)

            result = run_bench(config, registry=registry, events=events, log=log, progress=_bar_factory(quiet))
            if "bar" in state:
                state.pop("bar").close()
            per_seed.append(result)
            if result.metrics["train"].get("reused") and not (run_dir or checkpoint):
                click.echo(f"note: scored the finished run in {result.metrics['run']}, trained earlier; choose another "
                           "--out to train afresh", err=True)
            click.echo(result.summary())
            click.echo(f"report: {result.report_md}")
        if len(per_seed) > 1:
            summary = summarize_seeds(per_seed, Path(out or "bench-runs") / f"{per_seed[0].metrics['variant']}-seeds")
            click.echo(f"{summary.variant} over seeds {','.join(map(str, seed_list))}: {summary.headline}")
            click.echo(f"seed summary: {summary.path}")
        results += per_seed
    if len(names) > 1:
        table = compare(results, Path(out or "bench-runs"))
        click.echo(f"comparison: {table}")
        if sum(r.lab is not None for r in results) > 1:
            click.echo(f"side by side: {table.parent / 'lab.html'}")


def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of integers", param_hint="--seeds") \
            from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise click.BadParameter(f"{text!r}: give distinct non-negative seeds, e.g. 0,1,2", param_hint="--seeds")
    return seeds


def _bar_factory(quiet: bool):
    """A progress factory drawing tqdm bars on stderr (nothing when quiet)."""
    from tqdm import tqdm

    def open_bar(description: str, total: int, unit: str):
        return tqdm(total=total, desc=description, unit=unit, disable=quiet, dynamic_ncols=True, leave=False)

    return open_bar


def _fits(registry, variant: str, dataset: str | None) -> bool:
    """Whether ``variant`` trains on ``dataset`` (its own default dataset when None)."""
    from ganzoo.data import parse_dataset_name

    if dataset is None:
        return True
    return registry.dataset(parse_dataset_name(dataset)[0]).kind in registry.variant(variant).data_kinds


@cli.command()
@click.argument("a", type=click.Path())
@click.argument("b", type=click.Path())
@click.option("--extractor", default="inception", show_default=True)
@click.option("--num-samples", type=int, default=10000, show_default=True,
              help="Images drawn from a folder or a dataset, or generated from a run.")
@click.option("--image-size", type=click.IntRange(min=1),
              help="Size a dataset side is read at (default: a run side's image size, else 32).")
@click.option("--save-stats", type=click.Path(), help="Also save A's statistics to this .npz (pytorch-fid style).")
@click.option("--device", default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def fid(a, b, extractor, num_samples, image_size, save_stats, device, as_json, quiet) -> None:
    """FID (and KID, precision/recall where features allow) between A and B.

    A and B are each a folder of images, an .npz of statistics (mu, sigma), a run directory (or checkpoint), or a
    dataset as NAME[:SPLIT] (mnist:test, cifar10:train; the test split by default). A folder of images of one size
    is read as it is; a folder of mixed sizes is resized on the shorter side and center-cropped to the median
    shorter side first (the output says which).
    """
    import ganzoo

    if num_samples <= 0:
        raise GanzooError(f"--num-samples must be a positive integer, got {num_samples}")
    if not quiet and not as_json:
        click.echo(f"extracting {extractor} features of up to {num_samples} images per side; the bars show the time "
                   "left (a smaller --num-samples is quicker and noisier)", err=True)
    result = ganzoo.fid(a, b, extractor=extractor, num_samples=num_samples, device=device, image_size=image_size,
                        save_stats=save_stats, registry=_registry(), progress=_bar_factory(quiet or as_json))
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
        return
    for side, n in (("a", result["num_real"]), ("b", result["num_fake"])):
        source = result["sources"][side]
        rule = f"; {source['preprocessing']}" if source.get("preprocessing") else ""
        click.echo(f"{side.upper()}: {source['path']} ({source['kind']}, n={n}{rule})")
    click.echo(f"extractor: {extractor} ({result['feature_dim']}-d)")
    click.echo(f"fid: {result['fid']:.6g}")
    skipped = result.get("skipped", {})
    if result.get("kid_mean") is not None:
        click.echo(f"kid: {result['kid_mean']:.6g} ± {result['kid_std']:.2g} (subsets of "
                   f"{result.get('kid_subset_size')}; unbiased, so it can be slightly negative)")
    elif "kid_mean" in skipped:
        click.echo(f"kid: n/a ({skipped['kid_mean']})")
    if result.get("precision") is not None:
        click.echo(f"precision: {result['precision']:.6g}, recall: {result['recall']:.6g} "
                   f"(k={result.get('pr_k')}; read them together)")
    elif "precision" in skipped:
        click.echo(f"precision, recall: n/a ({skipped['precision']})")
    if result.get("is_mean") is not None:
        click.echo(f"inception score of B alone: {result['is_mean']:.6g} ± {result['is_std']:.2g}")
    if result.get("saved_stats"):
        click.echo(f"saved A's statistics to {result['saved_stats']}")


@cli.command()
@click.argument("source", type=click.Path())
@click.argument("out", type=click.Path(), required=False)
@click.option("--format", "format_", default="onnx", show_default=True,
              help="onnx, torchscript, hub (a Hugging Face model folder) or a plugin's exporter.")
@click.option("--dtype", type=click.Choice(["float16", "bfloat16", "float32"]),
              help="With --format hub: the stored weights' type (default float16).")
@click.option("--push", metavar="hf://OWNER/NAME", help="With --format hub: upload the folder to this Hub repo.")
def export(source: str, out: str | None, format_: str, dtype: str | None, push: str | None) -> None:
    """Write the generator of run (or checkpoint) SOURCE to OUT for use outside ganzoo.

    The EMA generator when the run kept one. The exported model takes z of shape (batch, z_dim), any batch size,
    and returns samples (images in [-1, 1]). OUT defaults to generator.onnx (.pt for torchscript) in the run
    directory.

    --format hub writes the folder OUT in the Hugging Face Hub's model-repo layout instead: model.safetensors (G,
    its EMA and D), config.json and a README.md model card, which ganzoo.load, `ganzoo sample` and
    `ganzoo bench --pretrained` read back from a path or from hf://OWNER/NAME.
    """
    import ganzoo

    path = ganzoo.export(source, out, format=format_, registry=_registry(), dtype=dtype, push=push)
    click.echo(f"wrote {path} ({format_})" + (f", pushed to {push}" if push else ""))


# --- lab -----------------------------------------------------------------------------------------------------------

@cli.command()
@click.argument("variants", nargs=-1, required=True, metavar="VARIANT...")
@click.option("--dataset", default="ring8", show_default=True,
              help="A 2-D point dataset: ring8, grid25, line, two-gaussians, ring, spiral, two-moons, or a plugin's.")
@click.option("--steps", type=int, help="Generator steps (default: the variant's). With --serve: pause there once.")
@click.option("--every", type=int, help="A frame every K steps (default: about 200 frames; 10 with --serve).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch-size", type=int)
@click.option("--z-dim", type=int, help="Noise dimensions (2 shows the whole manifold; more: a 2-D slice).")
@click.option("--n-critic", type=int, help="Discriminator steps per generator step.")
@click.option("--loss", help="Override the variant's loss (see `ganzoo plugins`).")
@click.option("--lr-g", type=float)
@click.option("--lr-d", type=float)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda, cuda:N or mps.")
@click.option("-o", "--out", type=click.Path(dir_okay=False), default="lab.html", show_default=True,
              help="The page to write (with --serve: what the page's Save button and Ctrl-C write).")
@click.option("--serve", is_flag=True, help="Train live, watched and steered from the browser.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to serve on; anything but loopback lets others on the network control it.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0: any free port.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def lab(variants, dataset, steps, every, seed, batch_size, z_dim, n_critic, loss, lr_g, lr_d, device, out, serve,
        host, port, quiet) -> None:
    """Watch VARIANT learn 2-D points, GAN Lab style (several: side by side).

    Trains with the real engine and writes one self-contained page (--out) with a frame every --every steps; with
    --serve, trains live at http://127.0.0.1:PORT, steered from the page instead.
    """
    from ganzoo.engine import TrainConfig, resolve

    if not out.lower().endswith((".html", ".htm")):
        raise click.BadParameter(f"{out!r} must end in .html", param_hint="--out")
    if every is not None and every < 1:
        raise click.BadParameter(f"{every} is not a positive integer", param_hint="--every")
    if serve and len(variants) > 1:
        raise click.UsageError("--serve trains one variant; name one")
    registry = _registry()
    configs = [TrainConfig(variant=v, dataset=dataset, steps=steps, batch_size=batch_size, z_dim=z_dim,
                           n_critic=n_critic, loss=loss, lr_g=lr_g, lr_d=lr_d, seed=seed, device=device)
               for v in variants]
    if serve:
        _serve_lab(configs[0], registry, every, steps, Path(out), host, port)
        return
    from tqdm import tqdm

    from ganzoo.lab import record, write_page

    recordings = []
    started = time.perf_counter()
    for config in configs:
        bars: list = []  # opened at the first frame, once the options have been checked

        def on_frame(frame, bars=bars, config=config) -> None:
            if not bars:
                total = resolve(config, registry).steps
                bars.append(tqdm(total=total, desc=f"{config.variant} on {dataset}", unit="step", disable=quiet,
                                 dynamic_ncols=True, leave=False))
            bars[0].update(frame.step - bars[0].n)

        try:
            recordings.append(record(config, every, registry, on_frame=on_frame))
        finally:
            for bar in bars:
                bar.close()
    path = write_page(out, recordings)
    frames = sum(len(r.frames) for r in recordings)
    click.echo(f"wrote {path}: {frames} frames of {', '.join(variants)} on {dataset}, "
               f"{path.stat().st_size / 1e6:.1f} MB, in {time.perf_counter() - started:.0f} s")


def _serve_lab(config, registry, every: int | None, steps: int | None, out: Path, host: str, port: int) -> None:
    from ganzoo.lab.server import LOOPBACK, LabServer
    from ganzoo.lab.session import LiveSession

    if host not in LOOPBACK:
        click.echo(f"warning: --host {host} lets anyone who can reach this machine watch and steer the training",
                   err=True)
    session = LiveSession(config, registry, every=every or 10, stop_at=steps)
    try:
        server = LabServer(session, host, port, out)
    except OSError as exc:
        session.close()
        raise GanzooError(f"cannot serve on {host}:{port}: {exc.strerror or exc}; try another --port") from None
    click.echo(f"ganzoo lab: {config.variant} on {config.dataset} at {server.url} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        session.close()
    path = session.save(out)
    click.echo(f"stopped at step {session.trainer.step}; wrote {path} ({len(session.recorder.recording.frames)} "
               "frames)")


def _one_line(message: object) -> str:
    """Messages from deep inside (PIL, safetensors, torch) may span lines; the CLI prints one."""
    return " ".join(str(message).split()) or "unknown error"


def _in_data_parallel_world() -> bool:
    """Whether this process is one rank of several (``WORLD_SIZE`` > 1, as torchrun and ``--nproc`` set it)."""
    return os.environ.get("WORLD_SIZE", "1") not in ("", "0", "1")


def _rank_prefix() -> str:
    """``"rank N: "`` on the ranks other than 0 of a data-parallel run, so their messages can be told apart."""
    rank = os.environ.get("RANK", "0")
    return f"rank {rank}: " if _in_data_parallel_world() and rank not in ("", "0") else ""


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors and a non-zero exit for every failure unless --debug."""
    if _in_data_parallel_world():
        from ganzoo.engine.distributed import exit_without_finalising

        with exit_without_finalising():
            _main(argv)
    else:
        _main(argv)


def _main(argv: list[str] | None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    who = _rank_prefix()
    try:
        cli.main(args=args, prog_name="ganzoo", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()  # bare `ganzoo` or `ganzoo COMMAND`: the help text is the answer
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:  # click turns Ctrl-C into Abort (after ending the ^C line)
        interrupted = isinstance(exc.__cause__, KeyboardInterrupt)
        click.echo("interrupted" if interrupted else "aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else "ganzoo"
        click.echo(f"{who}error: {_one_line(exc.format_message())} (see `{command} --help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"{who}error: {_one_line(exc.format_message())}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:  # `ganzoo list | head`: the reader left; say nothing
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stops the interpreter's flush at exit failing
        sys.exit(141)
    except GanzooError as exc:
        if debug:
            raise
        click.echo(f"{who}error: {_one_line(exc)}", err=True)
        sys.exit(2)
    except OSError as exc:  # the environment, not a bug: a full disk, a read-only folder, a missing permission
        if debug:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"{who}error: {_one_line(exc.strerror or exc)}{where}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        if debug:
            raise
        click.echo(f"{who}internal error: {type(exc).__name__}: {_one_line(exc)} "
                   "(rerun with --debug for the traceback)", err=True)
        sys.exit(1)
