"""The layout of a run directory, the files in it, and the lock that keeps two trainers out of one directory.

```
RUN/
  config.json             the resolved TrainConfig plus versions: enough to reproduce the run
  checkpoints/step_XXXXXXXX.safetensors
  checkpoints/step_XXXXXXXX.safetensors.bad[-N]   a checkpoint a resume could not load, set aside (never deleted)
  samples/step_XXXXXX.png grids from a fixed noise batch
  metrics.jsonl           one JSON object per training step (losses, penalties, throughput, training seconds),
                          and one per FID evaluation while training ("fid", "extractor", "fid_n", "train_s")
  losses.png              loss curves, redrawn at the end of training
  fid.png                 FID while training against steps and training minutes (when tracking was on)
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

try:
    import fcntl
except ImportError:  # Windows: fall back to an exclusive-create lock file with a liveness check of its pid
    fcntl = None  # type: ignore[assignment]

_CKPT = re.compile(r"^step_(\d+)\.safetensors$")
_GRID = re.compile(r"^step_(\d+)\.png$")
_TEMP = re.compile(r"^\..+\.tmp$")  # what atomic_write leaves behind when its process is killed mid-write


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
    def fid_plot(self) -> Path:
        return self.root / "fid.png"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def checkpoint(self, step: int) -> Path:
        return self.checkpoints / f"step_{step:08d}.safetensors"

    def sample_grid(self, step: int) -> Path:
        return self.samples / f"step_{step:06d}.png"

    def list_checkpoints(self) -> list[tuple[int, Path]]:
        """(step, path) of every checkpoint, oldest first."""
        return _numbered(self.checkpoints, _CKPT)

    def list_samples(self) -> list[tuple[int, Path]]:
        """(step, path) of every sample grid, oldest first."""
        return _numbered(self.samples, _GRID)

    def is_run(self) -> bool:
        return self.config.is_file()

    def check_new(self) -> None:
        """Refuse to start a fresh run where it would clobber something: a file, a run, a non-empty folder."""
        if self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"output path {self.root} exists and is not a directory")
        if self.config.exists():
            raise ConfigError(
                f"{self.root} already holds a run; pass --resume {self.root} to continue it or choose another --out")
        if self.root.is_dir():
            # a stale lock is all a fresh run killed before writing config.json leaves behind
            others = sorted(p.name for p in self.root.iterdir() if p.name != self.lock.name)
            if others:
                raise ConfigError(f"output directory {self.root} is not empty and holds no ganzoo run "
                                  f"(it has {', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); "
                                  "choose a new --out")

    def create(self) -> None:
        """Create the run's folders."""
        self.checkpoints.mkdir(parents=True, exist_ok=True)
        self.samples.mkdir(parents=True, exist_ok=True)

    def prepare(self, fresh: bool) -> None:
        """Check (a fresh run must not clobber anything) and create the run's folders."""
        if fresh:
            self.check_new()
        elif self.root.exists() and not self.root.is_dir():
            raise ConfigError(f"output path {self.root} exists and is not a directory")
        self.create()

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every record of metrics.jsonl; a torn last line (a crash mid-write) is ignored."""
        if not self.metrics.exists():
            return []
        records = []
        for line in self.metrics.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    def truncate_metrics(self, step: int) -> None:
        """Drop records past ``step`` (written after the checkpoint a resume starts from)."""
        from ganzoo.engine.checkpoint import atomic_write

        kept = [r for r in self.read_metrics() if isinstance(r.get("step"), int) and r["step"] <= step]
        atomic_write(self.metrics, lambda tmp: Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in kept)))

    def truncate_samples(self, step: int) -> list[Path]:
        """Delete the sample grids drawn past ``step``; the resumed run draws them again. Returns what went."""
        gone = [path for s, path in self.list_samples() if s > step]
        for path in gone:
            path.unlink(missing_ok=True)
        return gone

    def set_aside(self, path: Path) -> Path:
        """Rename an unloadable checkpoint to ``NAME.bad`` (``NAME.bad-2``, ...) so nothing overwrites it."""
        target = path.with_name(path.name + ".bad")
        n = 1
        while target.exists():
            n += 1
            target = path.with_name(f"{path.name}.bad-{n}")
        os.replace(path, target)
        return target

    def remove_temp_files(self) -> list[Path]:
        """Delete half-written temporaries of a killed process (call only while holding the lock)."""
        gone = []
        for folder in (self.root, self.checkpoints, self.samples):
            if folder.is_dir():
                for path in folder.iterdir():
                    if _TEMP.match(path.name) and path.is_file():
                        path.unlink(missing_ok=True)
                        gone.append(path)
        return gone


def _numbered(folder: Path, pattern: re.Pattern[str]) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := pattern.match(p.name)))


def resume_dir(path: Path) -> RunDir:
    """The run directory ``--resume PATH`` continues; a file, or a folder without ``config.json``, is an error
    whose message names the run directory to give instead when ``PATH`` lies inside one."""
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    run = RunDir(path)
    if path.is_dir() and run.is_run():
        return run
    what = "a file" if path.is_file() else "not a ganzoo run directory (no config.json)"
    enclosing = next((RunDir(p) for p in path.absolute().parents if RunDir(p).is_run()), None)
    hint = (f"the run directory ({enclosing.root}), which continues from its last good checkpoint"
            if enclosing is not None else "a run directory (the folder holding config.json and checkpoints/)")
    raise CheckpointError(f"{path} is {what}; resume takes {hint}")


def find_run(path: Path) -> RunDir:
    """The run directory for ``path``: the directory itself, or the run a checkpoint file lives in.

    A ``.safetensors`` file outside any run gives a :class:`RunDir` of its folder (loading needs only the file).
    """
    path = Path(path)
    if not path.exists():
        raise CheckpointError(f"{path} does not exist")
    if path.is_file():
        if path.suffix != ".safetensors":
            raise CheckpointError(f"{path} is neither a run directory nor a .safetensors checkpoint")
        return RunDir(path.parent.parent if path.parent.name == "checkpoints" else path.parent)
    run = RunDir(path)
    if not run.is_run():
        raise CheckpointError(f"{path} is not a ganzoo run directory (no config.json)")
    return run


class RunLock:
    """An exclusive lock on a run directory; the lock file records the owner's pid for the error message.

    On POSIX this is ``flock`` on ``RUN/.lock``: the kernel drops it when its process dies, however it dies, so a
    lock file left by a killed process (a stale lock) is simply taken over and a reused pid cannot fool it.
    """

    def __init__(self, run: RunDir) -> None:
        self.path = run.lock
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self.held:
            return
        if fcntl is None:
            self._acquire_exclusive_create()
            return
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise ConfigError(f"cannot lock run directory {self.path.parent}: {exc.strerror}") from exc
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise self._in_use(_read_pid(self.path)) from None
            if not _same_file(fd, self.path):  # its previous owner removed it between our open and flock
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return
        raise ConfigError(f"could not lock run directory {self.path.parent}")

    def _acquire_exclusive_create(self) -> None:
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                pid = _read_pid(self.path)
                if pid is not None and _alive(pid):
                    raise self._in_use(pid) from None
                self.path.unlink(missing_ok=True)  # stale: its owner is gone
                continue
            except OSError as exc:
                raise ConfigError(f"cannot lock run directory {self.path.parent}: {exc.strerror}") from exc
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return
        raise ConfigError(f"could not lock run directory {self.path.parent}")

    def _in_use(self, pid: int | None) -> ConfigError:
        owner = f"process {pid}" if pid is not None else "another process"
        return ConfigError(f"run directory {self.path.parent} is in use by {owner}; wait for it to finish or stop it")

    def release(self) -> None:
        if self._fd is None:
            return
        # unlink while still holding the lock, so a waiter that opened the old file notices and retries
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    own = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino)


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
    except (PermissionError, OSError):
        return True
    return True
