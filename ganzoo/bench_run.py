"""The run a benchmark scores: trained into its report folder, or a finished one there reused, an unfinished one
resumed."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from ganzoo.engine import Events, RunDir, TrainConfig, find_run, resolve
from ganzoo.engine import train as train_run
from ganzoo.errors import ConfigError
from ganzoo.registry import Registry


def train_or_reuse(wanted: TrainConfig, registry: Registry, out: Path, events: Events | None,
                   log: Callable[[str], None]) -> tuple[Path, bool]:
    """Train ``wanted`` (resolved) into ``out/run``; a finished run with the same config is reused, an unfinished
    one resumed, one of another config refused. Returns the run directory and whether it was reused as it was."""
    run_dir = out / "run"
    if (run_dir / "config.json").is_file():
        stored = resolve(TrainConfig.from_file(run_dir / "config.json"), registry)
        if wanted.channels is None:  # config.json records the dataset's channel count; asking for none means that
            stored = dataclasses.replace(stored, channels=None)
        if stored != wanted:
            raise ConfigError(f"{out} holds a benchmark of another configuration; choose another --out")
        run = find_run(run_dir)
        done = [s for s, _ in run.list_checkpoints()]
        if done and max(done) >= wanted.steps:
            log(f"reusing the finished run in {run_dir}")
            return run_dir, True
        log(f"resuming the unfinished run in {run_dir}")
        train_run(wanted, run_dir, registry=registry, resume=True, events=events)
        return run_dir, False
    log(f"training {wanted.variant} on {wanted.dataset} for {wanted.steps} steps -> {run_dir}")
    train_run(wanted, run_dir, registry=registry, events=events)
    return run_dir, False


def train_seconds(run_dir: Path, step: int) -> float | None:
    """Seconds the run spent in training steps up to ``step``, as its metrics.jsonl recorded them (whether it was
    trained now or earlier)."""
    rows = [r for r in RunDir(run_dir).read_metrics() if r.get("step") == step and "train_s" in r]
    return float(rows[-1]["train_s"]) if rows else None
