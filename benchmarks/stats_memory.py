"""Peak memory of feature statistics: 50k samples against 5k, through ganzoo's own ``extract`` pipeline.

    python benchmarks/stats_memory.py                      # the recorded run: 5k and 50k, d = 2048
    python benchmarks/stats_memory.py --sizes 1000 5000    # any sample counts

Each measurement runs in a fresh Python process, so its peak resident set size (``ru_maxrss``) belongs to that
measurement alone. The process streams N synthetic uint8 8x8 images in batches of 250 through
``ganzoo.metrics.pipeline.extract`` with a fixed random projection to d features standing in for a network (so the
extractor's own memory is the same for every N and tiny), exactly as ``ganzoo fid`` and ``ganzoo bench`` stream
real images: float64 running sums update the statistics, and the first ``--keep`` features (10000 by default, as
``extract`` keeps for KID and precision/recall) are also kept raw. ``--keep 0`` measures the statistics alone.
Reports the peak RSS of each N, the baseline of a process that imports the same modules and stops, and the ratio
of the largest N to the smallest. Writes ``benchmarks/results/stats_memory.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import common

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "stats_memory.json"
BATCH = 250


def child(n: int, dim: int, keep: int) -> dict[str, Any]:
    """Runs inside the measured process: stream n images through extract(), return what it saw."""
    import torch

    from ganzoo.metrics.pipeline import extract

    torch.set_num_threads(1)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    class Projection(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.randn(64, dim, generator=torch.Generator().manual_seed(0)))

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, None]:
            return (x.float().flatten(1) / 255) @ self.weight, None

    def batches():
        g = torch.Generator().manual_seed(1)
        for start in range(0, n, BATCH):
            yield torch.randint(0, 256, (min(BATCH, n - start), 1, 8, 8), dtype=torch.uint8, generator=g)

    if n:
        result = extract(Projection(), batches(), keep=keep)
        assert result.n == n and result.stats.covariance.shape == (dim, dim)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"n": n, "peak_rss_mib": peak / 1024, "rss_after_imports_mib": before / 1024}


def measure(n: int, dim: int, keep: int) -> dict[str, Any]:
    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).parent)!r}); import stats_memory; "
            f"print(json.dumps(stats_memory.child({n}, {dim}, {keep})))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="*", type=int, default=[5000, 50000])
    p.add_argument("--dim", type=int, default=2048)
    p.add_argument("--keep", type=int, default=10000, help="raw features kept besides the statistics")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    baseline = measure(0, args.dim, args.keep)
    rows = [measure(n, args.dim, args.keep) for n in sorted(args.sizes)]
    ratio = rows[-1]["peak_rss_mib"] / rows[0]["peak_rss_mib"]
    print(f"d = {args.dim}, keep = {args.keep}; baseline (imports only): {baseline['peak_rss_mib']:.0f} MiB")
    print("| samples | peak RSS (MiB) | above baseline (MiB) |\n|---:|---:|---:|")
    for row in rows:
        print(f"| {row['n']} | {row['peak_rss_mib']:.0f} | {row['peak_rss_mib'] - baseline['peak_rss_mib']:.0f} |")
    print(f"peak RSS ratio {rows[-1]['n']} / {rows[0]['n']} samples: {ratio:.3f}")
    result = {"command": common.command_line(__file__, argv), "machine": common.machine_info(),
              "timestamp": common.timestamp(), "dim": args.dim, "keep": args.keep, "baseline": baseline,
              "rows": rows, "ratio_largest_to_smallest": ratio}
    common.write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
