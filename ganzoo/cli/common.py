"""What every command shares: the registry with plugin warnings, progress bars, one-line messages."""

from __future__ import annotations

import warnings

import click


class _Seed(click.IntRange):
    """A seed torch accepts: a non-negative signed 64-bit integer (engine.config.MAX_SEED is the same bound; not
    imported here, since it would load torch before a command needs it)."""

    def __init__(self) -> None:
        super().__init__(0, 2**63 - 1)

    def _describe_range(self) -> str:
        return "0<=x<2**63"


SEED = _Seed()
SAMPLE_COUNT = click.IntRange(1, 2**31 - 1)  # more than any score needs; far larger counts overflow torch


def recipe_options(command):
    """The options of a training recipe that ``train`` and ``bench`` share: regularisers, network options,
    learning rates, their decay and the EMA (parameters ``regs``, ``nets``, ``lr_g``, ``lr_d``, ``ema_decay``,
    ``lr_decay``)."""
    options = [
        click.option("--reg", "regs", multiple=True, metavar="NAME=VALUE",
                     help="Add or change a regulariser of the variant (r1=10, gradient_penalty=10, weight_clip=0.01); "
                          "NAME=off drops one, 'none' drops all. Repeatable."),
        click.option("--net", "nets", multiple=True, metavar="KEY=VALUE",
                     help="Set an option of the variant's network builders (e.g. g_width=64, output_bias=true; "
                          "values are JSON, so a string is quoted: 'norm=\"none\"'). Repeatable; `ganzoo info "
                          "VARIANT` lists the options and their defaults."),
        click.option("--lr-g", type=float, help="G's learning rate (default: the variant's)."),
        click.option("--lr-d", type=float, help="D's learning rate (default: the variant's)."),
        click.option("--ema-decay", type=float,
                     help="EMA of G's weights, capped by the warm-up (1+t)/(10+t) at step t; 0 disables."),
        click.option("--lr-decay", type=float, metavar="FRACTION",
                     help="Both learning rates fall linearly to 0 over this last fraction of the run (0: constant; "
                          "default: the variant's)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def load_registry():
    """The registry of every installed plugin; each plugin that failed to load is named once on stderr."""
    from ganzoo.plugins import PluginLoadWarning, get_registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PluginLoadWarning)
        registry = get_registry()
    for name, error in sorted(registry.load_errors.items()):
        click.echo(f"warning: plugin {name!r} skipped: {error}", err=True)
    return registry


def progress_events(quiet: bool):
    """Training events drawing a tqdm bar (losses, img/s, the latest tracked FID) and printing warnings; also
    the state dict holding the bar, for the caller to close."""
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
        click.echo(f"warning: {one_line(message)}", err=True)

    def on_info(message: str) -> None:
        click.echo(one_line(message), err=True)

    return Events(on_start=on_start, on_step=on_step, on_warning=on_warning, on_info=on_info, on_fid=on_fid), state


def one_line(message: object) -> str:
    """Messages from deep inside (PIL, safetensors, torch) may span lines; the CLI prints one."""
    return " ".join(str(message).split()) or "unknown error"
