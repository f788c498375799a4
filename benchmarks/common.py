"""Helpers shared by the scripts in ``benchmarks/``: machine facts, load average, the command line, JSON output.

Scripts run as ``python benchmarks/NAME.py`` have this folder on ``sys.path``, so they ``import common``.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from ganzoo.machine import describe

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def load_warning() -> str | None:
    """A one-line warning when other processes keep the CPUs busy, so timings taken now would mislead."""
    load, cpus = load_average(), os.cpu_count() or 1
    if load is None or load[0] < 0.5 * cpus:
        return None
    return (f"load average {load[0]:.1f} on {cpus} CPUs: other processes compete for the CPUs, "
            "so timings taken now are not representative")


def machine_info(device: torch.device | str = "cpu") -> dict[str, Any]:
    """What ``ganzoo bench`` records of the machine (:func:`ganzoo.machine.describe`), plus the current load average."""
    return {**describe(device), "load_average": load_average()}


def command_line(script: str, argv: list[str] | None) -> str:
    """``python benchmarks/NAME.py ARGS`` as it was run (relative to the repository root)."""
    args = argv if argv is not None else sys.argv[1:]
    return "python " + shlex.join([os.path.relpath(Path(script).resolve(), ROOT), *args])


def timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def write_json(path: Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as indented JSON atomically (a reader sees the old file or the new one)."""
    from ganzoo.engine.checkpoint import atomic_write

    text = json.dumps(data, indent=2, default=_jsonable) + "\n"
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))
    return Path(path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (Path, torch.device)):
        return str(value)
    if hasattr(value, "item"):  # numpy and torch scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def set_threads(threads: int | None) -> int:
    """Use ``threads`` intra-op threads (None keeps torch's default); returns the count in effect."""
    if threads is not None:
        if threads < 1:
            raise SystemExit(f"--threads must be a positive integer, got {threads}")
        torch.set_num_threads(threads)
    return torch.get_num_threads()
