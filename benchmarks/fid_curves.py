"""Overlay the FID-while-training curves of finished runs in one plot (steps and training minutes), and print each
curve at the steps asked for: for runs continued past their defaults, where ``ganzoo bench --all`` has nothing to
compare.

    python benchmarks/fid_curves.py lsgan=exp/long/lsgan dcgan=bench-runs/dcgan/run --out fid.png --at 4000 8000

Each LABEL=PATH names a run directory (its ``metrics.jsonl``) or a ``ganzoo bench`` output (its ``metrics.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ganzoo.plots import fid_records, plot_fid


def records(path: Path) -> list[dict[str, Any]]:
    """The FID rows of a run directory's metrics.jsonl or of a bench output's metrics.json."""
    if (path / "metrics.jsonl").is_file():
        rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines() if line.strip()]
    elif (path / "metrics.json").is_file():
        rows = json.loads((path / "metrics.json").read_text()).get("fid_while_training") or []
    else:
        raise SystemExit(f"{path} holds neither metrics.jsonl (a run) nor metrics.json (a bench output)")
    return fid_records(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", metavar="LABEL=PATH")
    parser.add_argument("--out", type=Path, required=True, help="the PNG to write")
    parser.add_argument("--at", type=int, nargs="*", default=[], help="steps to print each curve at (nearest row)")
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    curves = {}
    for item in args.runs:
        label, sep, path = item.partition("=")
        if not sep or not label or not path:
            raise SystemExit(f"expected LABEL=PATH, got {item!r}")
        curves[label] = records(Path(path))
    for label, rows in curves.items():
        if not rows:
            print(f"{label}: no FID rows")
            continue
        best = min(rows, key=lambda r: r["fid"])
        at = [min(rows, key=lambda r, s=s: abs(r["step"] - s)) for s in args.at]
        points = ", ".join(f"{r['step']}: {r['fid']:.1f}" for r in at)
        print(f"{label}: last {rows[-1]['fid']:.1f} at step {rows[-1]['step']} ({rows[-1]['train_s'] / 60:.1f} min); "
              f"best {best['fid']:.1f} at {best['step']}" + (f"; {points}" if points else ""))
    written = plot_fid(curves, args.out, args.title)
    print(f"wrote {written}" if written else "no run had FID rows; nothing written")


if __name__ == "__main__":
    main()
