"""The busy-CPU warning: /proc/stat is read right, the threshold is oversubscription, and a long CPU run says it."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from ganzoo.engine import training
from ganzoo.engine.contention import (
    busy_cores,
    cgroup_cpu_quota,
    check_cpu,
    contention_warning,
    quota_warning,
    read_proc_stat,
)

STAT = """cpu  999 0 999 999 0 0 0 0 0 0
cpu0 100 0 20 300 30 0 0 50 0 0
cpu1 10 0 0 90 0 0 0 0 0 0
cpu2 5 0 5 0 0 0 0 0 0 0
intr 12345
"""


def test_proc_stat_sums_the_allowed_cores_with_idle_and_iowait_free_and_steal_busy(tmp_path):
    path = tmp_path / "stat"
    path.write_text(STAT)
    assert read_proc_stat(path, cpus={0}) == (170, 500, 1)  # the aggregate "cpu" line is not used
    assert read_proc_stat(path, cpus={0, 1}) == (180, 600, 2)
    assert read_proc_stat(path, cpus={0, 1, 2, 7}) == (190, 610, 3)  # a core the kernel does not list is skipped
    assert read_proc_stat(path, cpus={5}) is None
    assert read_proc_stat(tmp_path / "missing") is None
    for odd in ("intr 1\n", "cpu0 1 2 x 4\n", "cpu0 1 2\n"):
        path.write_text(odd)
        assert read_proc_stat(path, cpus={0}) is None


def test_busy_cores_is_the_busy_share_of_the_window_times_the_cores():
    samples = iter([(1000, 4000, 2), (1150, 4200, 2)])  # 150 of 200 jiffies busy: 1.5 of 2 cores
    assert busy_cores(0.0, lambda: next(samples)) == (pytest.approx(1.5), 2)
    assert busy_cores(0.0, lambda: None) is None
    frozen = itertools.repeat((10, 20, 2))  # no time passed: no measurement
    assert busy_cores(0.0, lambda: next(frozen)) is None


@pytest.mark.parametrize("threads, busy, cores, warns", [
    (2, 1.0, 2, True),    # the measured case: two threads beside one busy core
    (2, 0.3, 2, False),   # background noise
    (1, 1.0, 2, False),   # one thread fits beside one busy core
    (2, 1.9, 4, False),   # fits: 2 + 1.9 <= 4.25
    (4, 1.0, 4, True),
    (1, 3.0, 2, False),   # one thread cannot be fewer
])
def test_the_warning_is_for_oversubscription_only(threads, busy, cores, warns):
    message = contention_warning(threads, busy, cores)
    assert (message is not None) == warns
    if warns:
        assert f"of the {cores} CPU cores busy" in message and "OMP_NUM_THREADS=" in message


def test_the_warning_suggests_the_threads_that_fit():
    assert "OMP_NUM_THREADS=1" in contention_warning(2, 1.0, 2)
    assert "OMP_NUM_THREADS=3" in contention_warning(8, 5.2, 8)


def test_a_long_cpu_run_warns_once_at_its_start_and_a_short_one_does_not_check(image_folder, tmp_path, monkeypatch):
    calls = []

    def busy(threads):
        calls.append(threads)
        return contention_warning(2, 1.0, 2)

    monkeypatch.setattr(training, "check_cpu", busy)
    monkeypatch.setattr(training, "_LOAD_CHECK_STEPS", 3)
    from ganzoo.engine.config import TrainConfig
    from ganzoo.engine.events import Events

    warnings: list[str] = []
    config = TrainConfig("dcgan", dataset=f"folder:{image_folder}", image_size=32, batch_size=4, z_dim=8,
                         device="cpu", fid_every=0)
    training.train(dataclasses.replace(config, steps=2), tmp_path / "short",
                   events=Events(on_warning=warnings.append))
    assert calls == [] and warnings == []
    training.train(dataclasses.replace(config, steps=3), tmp_path / "long",
                   events=Events(on_warning=warnings.append))
    assert len(calls) == 1 and len(warnings) == 1 and "CPU cores busy" in warnings[0]


@pytest.mark.parametrize(("files", "quota"), [
    ({"cpu.max": "200000 100000\n"}, 2.0),                                   # cgroup v2, two CPUs
    ({"cpu.max": "max 100000\n"}, None),                                     # v2, no quota
    ({"cpu/cpu.cfs_quota_us": "150000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1.5),  # v1
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),    # v1, no quota
    ({}, None),                                                              # no cgroup files at all
])
def test_the_cgroup_cpu_quota_is_read_from_v2_or_v1_files(tmp_path, files, quota):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_quota(tmp_path) == quota


def test_threads_beyond_the_quota_warn_before_any_load_is_measured(monkeypatch):
    from ganzoo.engine import contention

    assert quota_warning(2, 2.0) is None and quota_warning(1, 0.5) is None
    assert "OMP_NUM_THREADS=2" in quota_warning(8, 2.0) and "OMP_NUM_THREADS=1" in quota_warning(4, 1.5)
    monkeypatch.setattr(contention, "cgroup_cpu_quota", lambda: 2.0)
    monkeypatch.setattr(contention, "busy_cores", lambda window: pytest.fail("measured despite the quota warning"))
    assert "quota is 2 CPUs" in check_cpu(8)
    monkeypatch.setattr(contention, "busy_cores", lambda window: (0.0, 8))
    assert check_cpu(2) is None  # within the quota, and the machine idle
