"""The layout of a run directory and the files in it.

```
RUN/
  config.json             the resolved TrainConfig plus versions: enough to reproduce the run
  checkpoints/step_XXXXXXXX.safetensors
  samples/step_XXXXXX.png grids from a fixed noise batch
  metrics.jsonl           one JSON object per training step (losses, scores, throughput)
  losses.png              loss curves, redrawn at the end of training
  .lock                   the pid of the process training in it
```
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganzoo.errors import CheckpointError, ConfigError

_CKPT = re.compile(r"^step_(\d+)\.safetensors$")


@dataclass(frozen=True)
class RunDir:
    """Paths inside one run directory."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.jsonl"

    @property
    def losses_plot(self) -> Path:
        return self.root / "losses.png"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:08d}.safetensors"

    def sample_grid(self, step: int) -> Path:
        return self.samples / f"step_{step:06d}.png"

    def list_checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of every checkpoint, oldest first."""
        if not self.checkpoints.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.checkpoints.iterdir() if (m := _CKPT.match(p.name))]
        return sorted(found)

    def prepare(self, fresh: bool) -> None:
        """Create the directory; a fresh run refuses a directory that already holds a run."""
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"output path {self.root} exists and is not a directory")
        if fresh and self.config.exists():
            raise ConfigError(
                f"{self.root} already holds a run; pass --resume {self.root} to continue it or choose another --out")
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.samples.mkdir(parents=True, exist_ok=True)

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every record of metrics.jsonl; a torn last line (a crash mid-write) is ignored."""
        if not self.metrics.exists():
            return []
        records = []
        for line in self.metrics.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return records

    def truncate_metrics(self, step: int) -> None:
        """Drop records past ``step`` (written after the checkpoint a resume starts from)."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        tmp = self.metrics.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in kept))
        os.replace(tmp, self.metrics)


def find_run(path: Path) -> RunDir:
    """The run directory for ``path``: the directory itself, or the run a checkpoint file lives in."""
    path = Path(path)
    if path.is_file() and path.parent.name == "checkpoints":
        return RunDir(path.parent.parent)
    run = RunDir(path)
    if not run.config.is_file():
        raise CheckpointError(f"{path} is not a ganzoo run directory (no config.json)")
    return run


class RunLock:
    """An exclusive lock on a run directory, recording the owner's pid; a stale lock of a dead process is taken."""

    def __init__(self, run: RunDir) -> None:
        self.path = run.lock
        self.held = False

    def acquire(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid = _read_pid(self.path)
                if pid is not None and _alive(pid):
                    raise ConfigError(
                        f"run directory {self.path.parent} is in use by process {pid}; "
                        "wait for it to finish or stop it") from None
                self.path.unlink(missing_ok=True)  # stale: its owner is gone
                continue
            with os.fdopen(fd, "w") as fh:
                fh.write(str(os.getpid()))
            self.held = True
            return
        raise ConfigError(f"could not lock {self.path.parent}")

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
