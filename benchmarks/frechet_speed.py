"""Time the two Frechet distance routes at Inception's 2048 dimensions: the symmetric eigen route ganzoo uses and
the textbook ``scipy.linalg.sqrtm(S1 @ S2)``.

    python benchmarks/frechet_speed.py                     # synthetic covariances, d = 2048, 3 repeats
    python benchmarks/frechet_speed.py --threads 1         # pin BLAS to one thread (shared machines)
    python benchmarks/frechet_speed.py --stats a.npz b.npz # real statistics (ganzoo or pytorch-fid files)

The synthetic covariances imitate pool-3 features: full rank with a power-law spectrum (condition number ~1e5),
eigenvectors of the two only partly aligned, a mean shift. Prints the median wall-clock and CPU time of each
route, the speed-up and the relative difference of the two FIDs, and writes them to
``benchmarks/results/frechet_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "frechet_speed.json"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dim", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="BLAS threads (0: the library default)")
    parser.add_argument("--stats", nargs=2, metavar=("A", "B"), help="two .npz files with mu / sigma")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def synthetic(dim: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    spectrum = 10.0 * np.arange(1, dim + 1) ** -1.5  # condition number ~ dim^1.5
    q1, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    q2, _ = np.linalg.qr(q1 + 0.3 * rng.normal(size=(dim, dim)) / np.sqrt(dim))  # 30% of q1's entry scale
    jitter = np.exp(0.2 * rng.normal(size=dim))
    sigma1 = (q1 * spectrum) @ q1.T
    sigma2 = (q2 * (spectrum * jitter)) @ q2.T
    mu1 = rng.normal(size=dim) * 0.1
    mu2 = mu1 + rng.normal(size=dim) * 0.05
    return mu1, sigma1, mu2, sigma2


def median_ms(fn, repeats: int) -> tuple[float, float, float]:
    """Median wall-clock and CPU (process) milliseconds of ``fn()``, and its value."""
    wall, cpu, value = [], [], 0.0
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        value = fn()
        wall.append((time.perf_counter() - start) * 1000.0)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
    return statistics.median(wall), statistics.median(cpu), value


def main() -> None:
    args = parse_args()
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)  # before numpy loads its BLAS
    import numpy as np
    import scipy

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from ganzoo.metrics.frechet import frechet_distance, frechet_distance_sqrtm
    from ganzoo.metrics.stats import StreamingStats

    if args.stats:
        a, b = (StreamingStats.load_npz(p) for p in args.stats)
        inputs, source = (a.mean, a.covariance, b.mean, b.covariance), f"files {args.stats[0]} {args.stats[1]}"
    else:
        inputs, source = synthetic(args.dim), "synthetic power-law spectra, partly aligned eigenvectors"
    dim = inputs[0].shape[0]
    eigh_ms, eigh_cpu_ms, fid_eigh = median_ms(lambda: frechet_distance(*inputs), args.repeats)
    sqrtm_ms, sqrtm_cpu_ms, fid_sqrtm = median_ms(lambda: frechet_distance_sqrtm(*inputs), args.repeats)
    result = {
        "dim": dim, "repeats": args.repeats, "covariances": source,
        "eigh_ms": round(eigh_ms, 1), "sqrtm_ms": round(sqrtm_ms, 1), "speedup": round(sqrtm_ms / eigh_ms, 2),
        # CPU time is the steadier figure on a shared machine (it excludes time spent waiting for a core)
        "eigh_cpu_ms": round(eigh_cpu_ms, 1), "sqrtm_cpu_ms": round(sqrtm_cpu_ms, 1),
        "cpu_speedup": round(sqrtm_cpu_ms / eigh_cpu_ms, 2),
        "fid_eigh": fid_eigh, "fid_sqrtm": fid_sqrtm,
        "relative_difference": abs(fid_eigh - fid_sqrtm) / max(abs(fid_sqrtm), 1e-300),
        "blas_threads": args.threads or "default", "cpu_count": os.cpu_count(), "machine": platform.machine(),
        "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
    }
    print(f"d={dim}, median of {args.repeats}: ganzoo (Cholesky factor) route {eigh_ms:.0f} ms, "
          f"sqrtm route {sqrtm_ms:.0f} ms, "
          f"speed-up {result['speedup']}x (CPU time: {eigh_cpu_ms:.0f} vs {sqrtm_cpu_ms:.0f} ms, "
          f"{result['cpu_speedup']}x)")
    print(f"FID ganzoo {fid_eigh:.10g}, sqrtm {fid_sqrtm:.10g}, "
          f"relative difference {result['relative_difference']:.2e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
