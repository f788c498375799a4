"""The report's anchor line (the recorded hand-written DCGAN) and the machine facts it compares."""

from __future__ import annotations

from ganzoo.machine import cpu_name, describe
from ganzoo.report import _anchor_line

MACHINE = {"platform": "Linux-6.18-x86_64", "processor": "AMD EPYC 9R14", "torch_threads": 2}


def _metrics(train_s: float | None, training: float, machine: dict) -> dict:
    anchor = {"inception_fid": 34.47, "num_samples": 2100, "train_seconds": 588.0, "date": "2026-12-04T08:18:41",
              "machine": MACHINE}
    return {"anchor": anchor, "scores": {"inception": {"final": {"fid": 19.47}}}, "train": {"train_s": train_s},
            "timings_s": {"training": training}, "machine": machine}


def test_a_scored_earlier_run_states_its_own_training_seconds_not_zero():
    line = _anchor_line(_metrics(train_s=544.7, training=0.0, machine=MACHINE))  # bench --run: nothing trained now
    assert "This run: 19.47 after 545 s of training steps" in line
    assert "reached Inception FID 34.47 (N=2100) after 588 s of training, measured on 2026-12-04" in line
    assert line.startswith("Anchor, not measured side by side with this run")


def test_the_same_kind_of_machine_is_recognised_by_cpu_model_and_platform():
    assert "(the same kind of machine)" in _anchor_line(_metrics(545.0, 588.0, dict(MACHINE)))
    other = {**MACHINE, "processor": "Intel(R) Xeon(R) Platinum 8488C"}
    assert "same kind of machine" not in _anchor_line(_metrics(545.0, 588.0, other))
    assert "No anchor recorded" in _anchor_line({"anchor": None})


def test_the_cpu_is_named_by_its_model_where_proc_cpuinfo_has_one(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 9R14 96-Core Processor\n")
    assert cpu_name(info) == "AMD EPYC 9R14 96-Core Processor"
    assert cpu_name(tmp_path / "missing")  # falls back to what the platform module knows
    facts = describe("cpu")
    assert facts["processor"] == cpu_name() and facts["device"] == "cpu" and facts["torch_threads"] >= 1
