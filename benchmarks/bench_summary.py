"""Summarise finished ``ganzoo bench`` outputs without re-scoring them: mean ± sd over seeds, or a comparison.

``ganzoo bench NAME --seeds 0,1,2`` and ``ganzoo bench A B C`` run their benchmarks one after another. On a
machine with cores to spare, run them as separate processes instead (``OMP_NUM_THREADS=1`` each, two side by
side on 2 cores) and collect them here: the same ``seeds.md`` / ``comparison.md`` and quality-per-minute plot.

    python benchmarks/bench_summary.py seeds bench-runs/dcgan/s0 bench-runs/dcgan/s1 bench-runs/dcgan/s2 \\
        --out bench-runs/dcgan-seeds
    python benchmarks/bench_summary.py compare bench-runs/zoo/* --out bench-runs/zoo
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ganzoo.bench import BenchResult
from ganzoo.report import write_comparison
from ganzoo.seed_summary import summarize_seeds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["seeds", "compare"])
    parser.add_argument("dirs", nargs="+", type=Path, help="bench output folders (each with metrics.json)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    results = [BenchResult(d, json.loads((d / "metrics.json").read_text())) for d in args.dirs
               if (d / "metrics.json").is_file()]
    if not results:
        raise SystemExit("no finished bench output (metrics.json) among the folders given")
    if args.what == "seeds":
        summary = summarize_seeds(results, args.out)
        print(f"{summary.variant} over seeds {summary.seeds}: {summary.headline}\n{summary.path}")
    else:
        print(write_comparison(results, args.out))


if __name__ == "__main__":
    main()
