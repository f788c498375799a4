"""``ganzoo sample`` and ``ganzoo export``: what a trained generator draws, and its weights for use elsewhere."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ganzoo.cli.common import SEED, load_registry
from ganzoo.cli.completion import source_completer, weights_completer
from ganzoo.errors import GanzooError

if TYPE_CHECKING:
    import torch

# samples in one picture (a grid, a scatter plot, a strip, a .gif): far beyond what anyone can look at, far below
# what would exhaust memory; a directory output streams, so it has no limit
PICTURE_MAX = 10_000


@click.command()
@click.argument("source", type=click.Path(), shell_complete=source_completer)
@click.option("-n", "--num", type=int, default=64, show_default=True, help="How many samples.")
@click.option("-o", "--output", type=click.Path(), default="samples.png", show_default=True,
              help="A .png grid, a directory (ending in /) for one PNG per sample, or with --interpolate a .png "
                   "strip or a .gif.")
@click.option("--seed", type=SEED, default=0, show_default=True)
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
@click.option("--pretrained", metavar="WEIGHTS", shell_complete=weights_completer,
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
    from ganzoo.api import iter_samples
    from ganzoo.latent import check_truncation
    from ganzoo.plots import save_class_grid, save_gif, save_samples

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
        if nrow is not None:
            raise GanzooError("--nrow lays out a .png grid; a directory gets one file per sample")
        _check_empty(out, output)
    else:
        if gif and seeds is None:
            raise GanzooError(f"a .gif output ({output!r}) is for --interpolate; use a .png grid")
        if out.suffix.lower() not in (".png", ".gif"):
            raise GanzooError(f"output {output!r} must end in .png (a strip) or .gif" if seeds is not None else
                              f"output {output!r} must end in .png (a grid) or / (a directory)")
        if not out.parent.is_dir():
            raise GanzooError(f"output directory {out.parent} does not exist")
        _check_picture_size(num, seeds, per_class, frames, nrow)
    from ganzoo.engine.checkpoint import check_writable

    check_writable(out, "output", folder=per_file)
    if pretrained is not None:
        source = f"pretrained:{source}/{pretrained}"
    run = ganzoo.load(source, device=device, registry=load_registry())
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
    if per_file:
        if len(run.sampler.data_shape) != 3:
            raise GanzooError("one-file-per-sample output is for image variants; use a .png path")
        batches = iter_samples(run, num, seed=seed, truncation=truncation, labels=labels)
        written = _write_files(batches, out, num)
        click.echo(f"wrote {written} images to {out}")
        return
    if per_class is not None:
        num = run.num_classes * per_class
        if num > PICTURE_MAX:
            raise GanzooError(f"--per-class {per_class} with {run.num_classes} classes is {num} samples: one .png "
                              f"holds at most {PICTURE_MAX}")
        labels = _per_class_labels(run.num_classes, per_class)
    x = ganzoo.sample(run, num, seed=seed, truncation=truncation, labels=labels)
    if per_class is not None:
        save_class_grid(x, labels, run.class_names, out)
    else:
        save_samples(x, out, kind="image" if x.dim() == 4 else "points", nrow=nrow)
    click.echo(f"wrote {out} ({num} samples from {run.spec.name} step {run.step}, seed {seed}{which}{psi})")


def _check_picture_size(num: int, seeds: tuple[int, int] | None, per_class: int | None, frames: int,
                        nrow: int | None) -> None:
    """Refuse a one-file picture of more than :data:`PICTURE_MAX` samples (``--per-class`` is checked once the
    number of classes is known)."""
    if seeds is not None and frames > PICTURE_MAX:
        raise GanzooError(f"--frames {frames}: a walk holds at most {PICTURE_MAX} frames")
    if seeds is None and per_class is None and num > PICTURE_MAX:
        raise GanzooError(f"-n {num}: one .png holds at most {PICTURE_MAX} samples; -o DIR/ writes any number of "
                          "image samples, one PNG each")
    if nrow is not None and nrow > PICTURE_MAX:
        raise GanzooError(f"--nrow {nrow}: a .png row holds at most {PICTURE_MAX} samples")


def _check_empty(out: Path, output: str) -> None:
    """Refuse an output directory that holds anything: new samples over old ones would leave a mix of both runs'
    files (a stale sample_000002.png after a smaller -n), which no longer scores as one sample of the run."""
    if not out.is_dir():
        return
    entries = [entry.name for entry in itertools.islice(out.iterdir(), 4)]
    if entries:
        shown = ", ".join(sorted(entries[:3])) + (", ..." if len(entries) > 3 else "")
        raise GanzooError(f"output directory {output} is not empty (it holds {shown}): give a new or empty "
                          "directory, or empty this one first")


def _write_files(batches: Iterable[torch.Tensor], out: Path, num: int) -> int:
    """Write the samples of ``batches`` as ``out/sample_NNNNNN.png``, exactly their pixels (no grid border); return
    how many. ``out`` is new or empty (checked before), and on any failure, Ctrl-C included, it is left so: it ends
    up holding all ``num`` samples or nothing."""
    from ganzoo.output_folder import left_as_found
    from ganzoo.plots import save_image

    digits = max(6, len(str(num - 1)))  # names sort in sample order, past a million too
    written = 0
    with left_as_found(out):
        for batch in batches:
            for image in batch:
                save_image(image, out / f"sample_{written:0{digits}d}.png")
                written += 1
    return written


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


@click.command()
@click.argument("source", type=click.Path(), shell_complete=source_completer)
@click.argument("out", type=click.Path(), required=False)
@click.option("--format", "format_",
              help="onnx, torchscript, hub (a Hugging Face model folder) or a plugin's exporter (default: from "
                   "OUT's suffix, .onnx or .pt; onnx without OUT).")
@click.option("--dtype", type=click.Choice(["float16", "bfloat16", "float32"]),
              help="With --format hub: the stored weights' type (default float16).")
@click.option("--push", metavar="hf://OWNER/NAME", help="With --format hub: upload the folder to this Hub repo.")
def export(source: str, out: str | None, format_: str | None, dtype: str | None, push: str | None) -> None:
    """Write the generator of run (or checkpoint) SOURCE to OUT for use outside ganzoo.

    The EMA generator when the run kept one. The exported model takes z of shape (batch, z_dim), any batch size,
    and int64 labels of shape (batch,) when the variant is class-conditional, and returns samples (images in
    [-1, 1]). OUT's suffix picks the format unless --format is given (.onnx, .pt for TorchScript); OUT defaults
    to generator.onnx (.pt with --format torchscript) in the run directory.

    --format hub writes the folder OUT in the Hugging Face Hub's model-repo layout instead: model.safetensors (G,
    its EMA and D), config.json and a README.md model card, which ganzoo.load, `ganzoo sample` and
    `ganzoo bench --pretrained` read back from a path or from hf://OWNER/NAME.
    """
    import ganzoo
    from ganzoo.api import export_format

    registry = load_registry()
    path = ganzoo.export(source, out, format=format_, registry=registry, dtype=dtype, push=push)
    click.echo(f"wrote {path} ({format_ or export_format(out, registry)})" + (f", pushed to {push}" if push else ""))
