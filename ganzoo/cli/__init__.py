"""The ``ganzoo`` command line: parses options, calls the API, prints. Nothing else lives here.

One module per group of commands; this one holds the group and the entry point that turns every failure into
one line and an exit status.
"""

from __future__ import annotations

import contextlib
import os
import sys

import click

from ganzoo import __version__
from ganzoo.cli.catalog import info, list_cmd, plugins
from ganzoo.cli.common import one_line
from ganzoo.cli.lab_command import lab
from ganzoo.cli.sampling import export, sample
from ganzoo.cli.scoring import bench, fid
from ganzoo.cli.training import train
from ganzoo.errors import GanzooError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganzoo")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """ganzoo: a plugin-based GAN zoo. Train, sample and benchmark GAN variants."""
    ctx.ensure_object(dict)["debug"] = debug


for _command in (list_cmd, info, plugins, train, sample, bench, fid, export, lab):
    cli.add_command(_command)


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
        click.echo(f"{who}error: {one_line(exc.format_message())} (see `{command} --help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"{who}error: {one_line(exc.format_message())}", err=True)
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
        click.echo(f"{who}error: {one_line(exc)}", err=True)
        sys.exit(2)
    except OSError as exc:  # the environment, not a bug: a full disk, a read-only folder, a missing permission
        if debug:
            raise
        where = f": {exc.filename}" if exc.filename else ""
        click.echo(f"{who}error: {one_line(exc.strerror or exc)}{where}", err=True)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last line of defence: never a bare traceback
        if debug:
            raise
        click.echo(f"{who}internal error: {type(exc).__name__}: {one_line(exc)} "
                   "(rerun with --debug for the traceback)", err=True)
        sys.exit(1)
