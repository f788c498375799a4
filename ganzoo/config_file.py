"""``--config FILE`` for ``ganzoo train`` and ``ganzoo bench``: a TOML file whose keys are the command's options.

Keys are option names with or without the dashes (``batch-size`` or ``batch_size``), plus the command's arguments
(``variant`` for train, ``names`` for bench). A flag given on the command line replaces the file's value for that
key (for ``--reg`` and ``--extractor``: the file's whole list). Lists stand for repeated options (``reg = ["r1=10"]``)
and for comma-separated ones (``log = ["tensorboard", "wandb"]``). A run's own ``config.json`` is accepted as well:
its ``regularisers`` table becomes ``--reg`` edits, its ``"requested"`` device is used rather than the resolved one
(``auto`` rather than ``cuda:0``), and its other record-only sections are ignored. An unknown key or a value of the
wrong type is a one-line error naming the key.

This module belongs to the command line: it turns a file into option values, and the API never sees it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ganzoo.errors import ConfigError

NOT_IN_FILES = ("config", "help")


def read_file(path: str | Path) -> dict[str, Any]:
    """The top-level table of a ``.toml`` file (or the object of a ``.json`` one)."""
    path = Path(path).expanduser()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid JSON: {exc}") from exc
    else:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"config file {path} is not valid TOML ({' '.join(str(exc).split())}); "
                              "use a .toml file, or a run's config.json") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table of options, not {type(data).__name__}")
    return data


def _param_for(command: click.Command, key: str) -> click.Parameter | None:
    wanted = key.strip().lstrip("-").replace("-", "_")
    for param in command.params:
        names = {param.name, *(opt.lstrip("-").replace("-", "_") for opt in getattr(param, "opts", []))}
        if wanted in names:
            return param
    return None


def _type_name(param: click.Parameter) -> str:
    if getattr(param, "is_flag", False):
        return "true or false"
    if isinstance(param.type, click.Choice):
        return "one of " + ", ".join(map(repr, param.type.choices))
    base = {click.INT: "an integer", click.FLOAT: "a number", click.BOOL: "true or false"}.get(param.type)
    if base is None and isinstance(param.type, click.types.IntRange):
        base = "an integer"
    return base or "a string"


def _scalar(param: click.Parameter, value: Any, where: str) -> Any:
    """``value`` checked against ``param``'s type (no silent conversions: 1.5 is not an integer)."""
    wrong = ConfigError(f"{where} must be {_type_name(param)}, got {value!r}")
    if getattr(param, "is_flag", False) or param.type is click.BOOL:
        if not isinstance(value, bool):
            raise wrong
        return value
    if isinstance(value, (dict, list)):
        raise wrong
    if param.type is click.INT or isinstance(param.type, click.types.IntRange):
        if isinstance(value, bool) or not isinstance(value, int):
            raise wrong
    elif param.type is click.FLOAT:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise wrong
    elif isinstance(param.type, click.Choice):
        if value not in param.type.choices:
            raise wrong
    elif not isinstance(value, str):
        raise wrong
    return value


def _value(param: click.Parameter, value: Any, where: str) -> Any:
    many = getattr(param, "multiple", False) or (isinstance(param, click.Argument) and param.nargs == -1)
    if many:
        items = value if isinstance(value, list) else [value]
        return tuple(_scalar(param, item, f"{where}[{i}]") for i, item in enumerate(items))
    if isinstance(value, list) and param.type is click.STRING:  # a comma-separated option: --log a,b
        if not all(isinstance(item, (str, int)) and not isinstance(item, bool) for item in value):
            raise ConfigError(f"{where} must be a string or a list of strings, got {value!r}")
        return ",".join(str(item) for item in value)
    return _scalar(param, value, where)


def _regularisers_as_edits(value: Any, where: str) -> tuple[str, ...]:
    """config.json's ``{"r1": 10.0}`` as the ``--reg`` edits that give exactly those regularisers."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table of regulariser names and values, got {value!r}")
    edits = ["none"]
    for name, number in value.items():
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise ConfigError(f"{where}.{name} must be a number, got {number!r}")
        edits.append(f"{name}={number!r}")
    return tuple(edits)


def _network_as_edits(value: Any, where: str) -> tuple[str, ...]:
    """config.json's ``{"g_width": 64}`` as the ``--net`` edits that give those network options."""
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table of network options, got {value!r}")
    return tuple(f"{key}={json.dumps(option)}" for key, option in value.items())


def default_map(command: click.Command, data: dict[str, Any], source: str) -> dict[str, Any]:
    """The file's values as ``command``'s default map (click then lets command-line flags override them)."""
    from ganzoo.engine.config import RECORD_KEYS

    requested = data.get("requested")
    out: dict[str, Any] = {}
    for key, value in data.items():
        where = f"{source}: {key}"
        if key in RECORD_KEYS:
            continue
        if key == "regularisers" and (reg := _param_for(command, "reg")) is not None:
            if value is not None:
                out[reg.name] = _regularisers_as_edits(value, where)
            continue
        if key == "network" and (net := _param_for(command, "net")) is not None:
            if value is not None:
                out[net.name] = _network_as_edits(value, where)
            continue
        param = _param_for(command, key)
        if param is None or param.name in NOT_IN_FILES:
            import difflib

            close = [p.name.replace("_", "-") for p in command.params if p.name not in NOT_IN_FILES]
            hint = difflib.get_close_matches(key.replace("_", "-"), close, n=1)
            raise ConfigError(f"{where}: unknown key for ganzoo {command.name}"
                              + (f"; did you mean {hint[0]!r}?" if hint else ""))
        if key == "device" and isinstance(requested, dict) and "device" in requested:
            value = requested["device"]  # the request ("auto"), not this machine's answer to it ("cuda:0")
        if value is None:  # config.json's "not given": the option's own default
            continue
        out[param.name] = _value(param, value, where)
    return out


def config_option(command_name: str, run_config: bool = False):
    """The ``--config FILE`` option: eager, it fills the context's default map before the other options are read.
    ``run_config`` says (in the help) that a run's config.json is accepted, as it is by ``ganzoo train``."""

    def load(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is None:
            return None
        ctx.default_map = {**(ctx.default_map or {}), **default_map(ctx.command, read_file(value), value)}
        return value

    return click.option("--config", type=click.Path(dir_okay=False), is_eager=True, expose_value=True,
                        callback=load, metavar="FILE",
                        help=f"Read options from a TOML file (keys: the options of `ganzoo {command_name}`)"
                             + (", or from a run's config.json" if run_config else "")
                             + "; flags on the command line override it.")
