"""How long the ``ganzoo`` command takes to answer: ``--help``, ``COMMAND --help`` and ``list``.

Each command runs ``--runs`` times as a fresh process (the console script beside this interpreter) and the median
wall time is reported with the min and max, next to the target from issue 15 (help: 0.5 s, list: 3 s) and, as a
floor for ``list``, the time to ``import torch`` alone. ``list`` needs torch (the plugins define networks), so the
last row splits one ``list`` process in two: importing torch, then everything ganzoo does. Prints a table;
``--json PATH`` also writes the figures.

    python benchmarks/cli_startup.py            # 7 runs of each
    python benchmarks/cli_startup.py --runs 11 --json benchmarks/results/cli_startup.json
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import common

TARGETS = {"help": 0.5, "list": 3.0}


def _ganzoo() -> list[str]:
    script = Path(sys.executable).with_name("ganzoo")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "ganzoo"]


def _cases() -> list[tuple[str, list[str], float | None]]:
    g = _ganzoo()
    return [
        ("ganzoo --help", [*g, "--help"], TARGETS["help"]),
        ("ganzoo train --help", [*g, "train", "--help"], TARGETS["help"]),
        ("ganzoo sample --help", [*g, "sample", "--help"], TARGETS["help"]),
        ("ganzoo list", [*g, "list"], TARGETS["list"]),
        ("python -c 'import torch' (floor of list)", [sys.executable, "-c", "import torch"], None),
    ]


_SPLIT = """
import contextlib, io, time
t0 = time.perf_counter()
import torch
t1 = time.perf_counter()
from ganzoo.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["list"])
print(t1 - t0, time.perf_counter() - t1)
"""


def _split() -> tuple[float, float]:
    """(import torch, the rest of `ganzoo list`) in one process, seconds."""
    result = subprocess.run([sys.executable, "-c", _SPLIT], capture_output=True, text=True, check=True)
    torch_s, rest_s = map(float, result.stdout.split())
    return torch_s, rest_s


def _time(argv: list[str]) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.decode(errors='replace').strip()}")
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (default 7)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.runs < 1:
        raise SystemExit("--runs must be a positive integer")
    if (warning := common.load_warning()) is not None:
        print(f"warning: {warning}", file=sys.stderr)
    rows = []
    for label, command, target in _cases():
        _time(command)  # warm the file cache; not counted
        times = [_time(command) for _ in range(args.runs)]
        rows.append({"command": label, "median_s": common.median(times), "min_s": min(times), "max_s": max(times),
                     "target_s": target, "runs": args.runs})
    _split()
    splits = [_split() for _ in range(args.runs)]
    for label, values in (("  in one list process: import torch", [t for t, _ in splits]),
                          ("  in one list process: the rest (ganzoo)", [r for _, r in splits])):
        rows.append({"command": label, "median_s": common.median(values), "min_s": min(values),
                     "max_s": max(values), "target_s": None, "runs": args.runs})
    width = max(len(r["command"]) for r in rows)
    print(f"{'command':<{width}}  median   min     max     target")
    for r in rows:
        verdict = "" if r["target_s"] is None else (
            f"<= {r['target_s']:.1f} s {'ok' if r['median_s'] <= r['target_s'] else 'MISSED'}")
        print(f"{r['command']:<{width}}  {r['median_s']:.2f} s  {r['min_s']:.2f} s  {r['max_s']:.2f} s  {verdict}")
    machine = common.machine_info()
    print(f"machine: {machine['processor']}, {machine['cpu_count']} CPUs, load average {machine['load_average']}")
    if args.json:
        common.write_json(args.json, {"command": common.command_line(__file__, argv), "date": common.timestamp(),
                                      "machine": machine, "results": rows})


if __name__ == "__main__":
    main()
