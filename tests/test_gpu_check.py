"""benchmarks/gpu_check.py: its CPU quick mode runs every section in CI (so the GPU check cannot rot), and the
machinery that keeps a GPU run inside its time (section limits, child-process timeouts, the batch search) works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganzoo.plugins import get_registry

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import gpu_check  # noqa: E402


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path_factory.mktemp("gpu-check")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    done = subprocess.run([sys.executable, str(BENCHMARKS / "gpu_check.py"), "--device", "cpu", "--quick", "--out",
                           str(out)], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done, json.loads((out / "gpu_check.json").read_text()) | {"_md": (out / "gpu_check.md").read_text()}


def test_quick_run_records_every_section_with_results_or_a_reason(quick_run):
    done, result = quick_run
    assert result["quick"] is True and result["device"] == "cpu"
    env = result["environment"]
    for key in ("torch", "date", "commit", "python", "processor"):
        assert key in env
    assert set(result["sections"]) == set(gpu_check.SECTIONS)
    for name, record in result["sections"].items():
        assert record["status"] in ("ok", "skipped"), (name, record)
        if record["status"] == "ok":
            assert record["results"]["summary"], name
        else:
            assert record["reason"].strip(), name
    assert result["sections"]["nccl"]["status"] == "skipped" and "CUDA" in result["sections"]["nccl"]["reason"]
    assert "| section | status |" in result["_md"] and result["_md"].strip() in done.stdout


def test_quick_run_trains_every_registered_image_variant(quick_run):
    rows = quick_run[1]["sections"]["variants"]["results"]["rows"]
    registry = get_registry()
    images = [n for n in registry.names("variant") if "image" in registry.variant(n).data_kinds]
    assert [r["variant"] for r in rows] == images
    for row in rows:
        assert "error" not in row, row
        assert row["steps"] == 1 and row["losses_finite"] is True and row["img_per_s"] > 0


def test_quick_run_compares_each_amp_mode_with_the_fp32_seed_spread(quick_run):
    amp = quick_run[1]["sections"]["amp"]["results"]
    assert [(r["precision"], r["seed"]) for r in amp["rows"]] == [("fp32", 0), ("fp32", 1), ("bf16", 0), ("fp16", 0)]
    for row in amp["rows"]:
        assert row["losses_finite"] is True and row["fid_end"] > 0 and len(row["fid_curve"]) == 2
    assert amp["fp32_spread"]["n"] == 2 and amp["fp32_spread"]["low"] <= amp["fp32_spread"]["high"]
    for row in amp["rows"][2:]:
        assert isinstance(row["within_fp32_spread"], bool)
    assert set(amp["rows"][3]["grad_scale"]) == {"D", "G"}  # fp16 trains with a GradScaler per network


def test_quick_run_times_throughput_inception_and_the_bench(quick_run):
    sections = quick_run[1]["sections"]
    tp = sections["throughput"]["results"]
    assert tp["largest_batch"]["32"]["batch"] == 8 and "cap" in tp["largest_batch"]["32"]["stopped"]
    assert {(r["batch"], r["layout"]) for r in tp["rows"]} == {(b, lay) for b in (4, 8)
                                                               for lay in ("contiguous", "channels-last")}
    assert all(r["img_per_s"] > 0 and r["compile"] is False for r in tp["rows"]) and tp["compile_skipped"]
    inception = sections["inception"]["results"]
    assert inception["rows"][0]["img_per_s"] > 0 and inception["gpu_vs_cpu_features"]["skipped"]
    bench = sections["bench"]["results"]
    assert bench["returncode"] == 0 and bench["steps"] == 2
    assert {"training", "sampling", "generated features", "scoring", "total"} <= set(bench["timings_s"])
    assert bench["scores"]["mnist-classifier"]["final"]["kid_mean"] is not None


def test_quick_run_profiles_a_training_step(quick_run):
    profile = quick_run[1]["sections"]["step_profile"]["results"]
    assert profile["run"]["steps"] == 4 and 0 < profile["run"]["median_ms"] <= profile["run"]["max_ms"]
    assert profile["loop_ms_per_step"] > 0 and profile["profile"]["host_ops"] > 0
    assert profile["profile"]["top_host_ops"][0]["op"].startswith("aten::")
    assert "gpu_busy" not in profile["profile"]  # no CUDA events on a CPU


def test_step_time_spread_leaves_out_the_first_steps_and_measures_the_tail():
    train_s = [1.0] + [1.0 + 0.01 * k for k in range(1, 20)] + [1.19 + 0.05]  # a 1 s first step, then 10 ms steps
    spread = gpu_check.step_time_spread(train_s)
    assert spread["skipped_first"] == 2 and spread["steps"] == 19
    assert spread["median_ms"] == pytest.approx(10) and spread["max_ms"] == pytest.approx(50)
    assert spread["slow_steps"] == 1 and spread["slow_share_of_time"] == round(0.05 / 0.23, 3)


def test_throughput_rows_compare_eager_with_compiled_before_the_large_batches():
    rows = gpu_check.throughput_rows([32, 64], 64, {32: 1024, 64: None}, compile_rows=True)
    assert len(rows) == len(set(rows)) == 12  # 64 px has no larger batch that fits
    assert rows[:6] == [(False, 32, 64, "contiguous"), (False, 32, 64, "channels-last"),
                        (False, 64, 64, "contiguous"), (False, 64, 64, "channels-last"),
                        (True, 32, 64, "contiguous"), (True, 32, 64, "channels-last")]
    assert rows[6:8] == [(False, 32, 1024, "contiguous"), (False, 32, 1024, "channels-last")]
    assert gpu_check.throughput_rows([32], 4, {32: 4}, compile_rows=False) == [
        (False, 32, 4, "contiguous"), (False, 32, 4, "channels-last")]


def _check(tmp_path: Path, **plan) -> gpu_check.Check:
    return gpu_check.Check(gpu_check.Plan(**plan), torch.device("cpu"), None, tmp_path, time.monotonic(),
                           dict(os.environ))


def test_a_section_past_its_time_limit_stops_and_keeps_its_results(tmp_path, monkeypatch):
    def slow(check, out):
        out["rows"] = ["first row"]
        time.sleep(60)

    monkeypatch.setitem(gpu_check.CHECKS, "inception", slow)
    check = _check(tmp_path, budget_s=30, timeouts_s={"inception": 1})
    monkeypatch.setattr(gpu_check, "MIN_SECTION_S", 0.5)
    record = gpu_check.run_section(check, "inception")
    assert record["status"] == "timeout" and "time limit" in record["error"]
    assert record["results"]["rows"] == ["first row"]


def test_a_failing_section_is_one_line_and_a_spent_budget_skips(tmp_path, monkeypatch):
    def broken(check, out):
        raise ValueError("no such thing\nsecond line")

    monkeypatch.setitem(gpu_check.CHECKS, "inception", broken)
    record = gpu_check.run_section(_check(tmp_path), "inception")
    assert record["status"] == "failed" and record["error"] == "ValueError: no such thing second line"
    spent = _check(tmp_path, budget_s=1)
    assert gpu_check.run_section(spent, "inception") == {"status": "skipped",
                                                         "reason": "the total budget of 1 s was spent"}


def test_the_batch_search_stops_at_the_first_out_of_memory(tmp_path, monkeypatch):
    class Loop:
        def __init__(self, registry, variant, size, channels, batch, *args, **kwargs):
            self.batch = batch

        def step(self):
            if self.batch > 256:
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(gpu_check.tp, "EngineLoop", Loop)
    found = gpu_check.largest_batch(_check(tmp_path, batch=64, max_batch=4096), "dcgan", 32)
    assert found["batch"] == 256 and found["stopped"] == "out of memory at batch 512"
    assert [t["batch"] for t in found["tried"]] == [64, 128, 256, 512]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_child_past_its_timeout_is_killed_with_its_own_children(tmp_path):
    script = ("import subprocess, sys, time; "
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); "
              "print(p.pid, flush=True); time.sleep(120)")
    done = gpu_check.run_processes([([sys.executable, "-c", script], dict(os.environ))], timeout=3,
                                   logs=tmp_path / "logs")[0]
    assert done.returncode is None
    grandchild = int(done.output.split()[0])
    for _ in range(100):  # the orphan is reaped by init shortly after it dies
        if not _alive(grandchild):
            break
        time.sleep(0.1)
    assert not _alive(grandchild)


def test_amp_runs_are_judged_against_mean_plus_minus_two_sd_of_fp32():
    out = {"rows": [{"precision": "fp32", "seed": s, "fid_end": f, "losses_finite": True}
                    for s, f in ((0, 10.0), (1, 12.0), (2, 14.0))]
           + [{"precision": "bf16", "seed": 0, "fid_end": 17.9, "losses_finite": True},
              {"precision": "fp16", "seed": 0, "fid_end": 18.1, "losses_finite": True}]}
    gpu_check._judge_amp(out)
    assert out["fp32_spread"]["low"] == pytest.approx(8.0) and out["fp32_spread"]["high"] == pytest.approx(16.0)
    bf16, fp16 = out["rows"][3:]
    assert bf16["within_fp32_spread"] is False and fp16["within_fp32_spread"] is False
    assert bf16["fid_minus_fp32_same_seed"] == pytest.approx(7.9)
    out["rows"][3]["fid_end"] = 15.0
    gpu_check._judge_amp(out)
    assert out["rows"][3]["within_fp32_spread"] is True and "bf16 within, fp16 OUTSIDE" in out["summary"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_cuda_without_a_gpu_is_a_one_line_error():
    with pytest.raises(SystemExit) as exc:
        gpu_check.run_check(["--device", "cuda"])
    assert str(exc.value).startswith("error: device 'cuda' was asked for but CUDA is not available")


@pytest.mark.parametrize("argv, message", [
    (["--sections", "variants,nope"], "unknown section(s) nope"),
    (["--budget", "-5"], "--budget must be a positive number"),
    (["--seeds", "1,x"], "not a comma-separated list of integers"),
])
def test_bad_options_are_one_line_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        gpu_check.parse_args(argv)
    assert exc.value.code == 2 and message in capsys.readouterr().err
