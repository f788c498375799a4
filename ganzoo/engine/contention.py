"""Whether other processes already keep the CPU busy, so that this one's torch threads would oversubscribe it.

On a 2-core machine, a two-thread dcgan step in bf16 beside one other single-threaded job took 3-4.5 s instead of
0.085 s (docs/benchmarks.md, "Other jobs beside a training run"): oneDNN's bf16 kernels wait for their sibling
thread at barriers, and that thread is waiting for a core. Nothing here changes the thread count, since results
differ bitwise between thread counts; training says so once, with what to do.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from pathlib import Path

CpuTimes = tuple[int, int, int]  # (busy, total, cores): jiffies summed over every core, and the number of cores


def read_proc_stat(path: Path = Path("/proc/stat"), cpus: Collection[int] | None = None) -> CpuTimes | None:
    """Busy and total CPU time since boot of the cores in ``cpus`` (default: those this process may run on), from
    Linux's ``/proc/stat``; None where there is no such file or it does not parse."""
    if cpus is None and hasattr(os, "sched_getaffinity"):
        cpus = os.sched_getaffinity(0)
    try:
        lines = path.read_text().splitlines()
        per_core = {int(line.split()[0][3:]): [int(v) for v in line.split()[1:]]
                    for line in lines if line.startswith("cpu") and line[3:4].isdigit()}
    except (OSError, ValueError):
        return None
    chosen = [fields for core, fields in per_core.items() if cpus is None or core in cpus]
    if not chosen or any(len(fields) < 4 for fields in chosen):
        return None
    total = sum(sum(fields[:8]) for fields in chosen)
    idle = sum(fields[3] + (fields[4] if len(fields) > 4 else 0) for fields in chosen)  # idle, iowait; steal: busy
    return total - idle, total, len(chosen)


def busy_cores(window: float = 0.3, read: Callable[[], CpuTimes | None] = read_proc_stat) -> tuple[float, int] | None:
    """(cores kept busy by other processes over ``window`` seconds, cores in all), measured while this process
    sleeps; None where the CPU times cannot be read."""
    before = read()
    time.sleep(window)
    after = read()
    if before is None or after is None or after[1] <= before[1]:
        return None
    share = (after[0] - before[0]) / (after[1] - before[1])
    return share * after[2], after[2]


def contention_warning(threads: int, busy: float, cores: int) -> str | None:
    """A one-line warning when ``threads`` more torch threads would not fit beside ``busy`` busy cores."""
    if busy < 0.5 or threads + busy <= cores + 0.25 or threads <= 1:
        return None
    fits = max(1, min(threads, round(cores - busy)))
    return (f"other processes keep {busy:.1f} of the {cores} CPU cores busy; {threads} torch threads beside them "
            f"can run many times slower (35-50x for dcgan in bf16 on 2 cores). Stop them, or train with "
            f"OMP_NUM_THREADS={fits} (a run on another thread count differs bitwise)")


def cgroup_cpu_quota(root: Path = Path("/sys/fs/cgroup")) -> float | None:
    """The CPUs a container's cgroup lets this process use (cgroup v2 ``cpu.max``, else v1's CFS quota), e.g.
    2.0; None where no quota is set or none can be read. torch sizes its thread pool by the cores it sees, which
    a quota does not change."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        try:
            quota = (root / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (root / "cpu" / "cpu.cfs_period_us").read_text().strip()
        except OSError:
            return None
    try:
        cpus = int(quota) / int(period)
    except ValueError:  # "max": no quota
        return None
    return cpus if cpus > 0 else None  # -1: no quota (v1)


def quota_warning(threads: int, quota: float) -> str | None:
    """A one-line warning when ``threads`` torch threads exceed a cgroup quota of ``quota`` CPUs."""
    if threads <= max(1.0, quota) + 0.25:
        return None
    fits = max(1, int(quota + 0.25))
    return (f"this container's CPU quota is {quota:g} CPUs but torch runs {threads} threads; the extra threads "
            f"wait for CPU time and can make training many times slower. Train with OMP_NUM_THREADS={fits} "
            f"(a run on another thread count differs bitwise)")


def check_cpu(threads: int, window: float = 0.3) -> str | None:
    """A warning for this machine now: threads beyond the cgroup's CPU quota, else :func:`contention_warning`
    (it sleeps ``window`` seconds to measure); None off Linux."""
    if threads <= 1:
        return None
    quota = cgroup_cpu_quota()
    if quota is not None and (warning := quota_warning(threads, quota)):
        return warning
    measured = busy_cores(window)
    return contention_warning(threads, *measured) if measured else None
