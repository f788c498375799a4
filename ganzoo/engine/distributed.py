"""Data-parallel training across processes: the world ``torchrun`` describes, and the few collectives the engine needs.

One process per device. Every rank builds the same networks from the same seed, draws the same global batch of
noise and of data rows and keeps its own slice, so ``--batch-size`` is the *global* batch whatever the world size,
a checkpoint resumes under any world size, and rank 0 alone writes the run directory.
"""

from __future__ import annotations

import contextlib
import datetime
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from ganzoo.errors import ConfigError, DeviceError


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (``rank`` 0 of 1 when training alone)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def split(self, global_batch: int) -> int:
        """This rank's share of a global batch; the world size must divide it."""
        if global_batch % self.world_size:
            raise ConfigError(f"--batch-size {global_batch} is the global batch and must be divisible by the "
                              f"{self.world_size} training processes")
        return global_batch // self.world_size

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The element-wise mean of ``values`` over all ranks (``values`` itself when alone)."""
        if not self.active:
            return values
        values = values.clone()
        dist.all_reduce(values)
        return values / self.world_size

    def all_agree(self, flag: bool) -> bool:
        """True only if ``flag`` is true on every rank, so all ranks take the same branch."""
        if not self.active:
            return flag
        device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
        value = torch.tensor([1 if flag else 0], dtype=torch.int32, device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MIN)
        return bool(value.item())

    @contextlib.contextmanager
    def main_first(self) -> Iterator[None]:
        """Run the body on rank 0 before the other ranks (e.g. a download the others then read)."""
        if not self.is_main:
            self.barrier()
        try:
            yield
        finally:
            if self.is_main:
                self.barrier()


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"environment variable {name}={text!r} is not an integer") from None


def world_from_env() -> World:
    """The world an initialised process group or ``torchrun`` (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) describes."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size(), _env_int("LOCAL_RANK", dist.get_rank()))
    world = World(_env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0))
    if world.world_size < 1 or not 0 <= world.rank < world.world_size:
        raise ConfigError(f"RANK={world.rank} and WORLD_SIZE={world.world_size} do not describe a process group")
    return world


def rank_device(world: World, device: torch.device) -> torch.device:
    """The device this rank trains on: ``cuda:LOCAL_RANK`` on CUDA, ``device`` itself on CPU or when alone."""
    if not world.active:
        return device
    if device.type == "cuda":
        if world.local_rank >= torch.cuda.device_count():
            raise DeviceError(f"LOCAL_RANK {world.local_rank} has no GPU: this machine has "
                              f"{torch.cuda.device_count()}; start at most that many processes per node")
        return torch.device("cuda", world.local_rank)
    if device.type != "cpu":
        raise DeviceError(f"data-parallel training runs on CUDA or CPU, not {device.type}")
    return device


def join(world: World, device: torch.device) -> bool:
    """Join the process group for ``world`` (NCCL on CUDA, gloo on CPU); True if this call created it.

    A group the caller initialised is used as it is.
    """
    if not world.active:
        return False
    if not dist.is_available():
        raise DeviceError("this PyTorch build has no torch.distributed; train with one process")
    device = rank_device(world, device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if dist.is_initialized():
        return False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=world.rank,
                            world_size=world.world_size, timeout=datetime.timedelta(minutes=10))
    return True


def leave(joined: bool) -> None:
    """Tear down the process group :func:`join` created (a caller's own group is left alone)."""
    if joined and dist.is_initialized():
        dist.destroy_process_group()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RANK0_FAILED = "rank 0 could not start the run (its error says why)"


class _Tee:
    """Copies a child's stream to our stderr as it arrives (progress bars included), keeping its last line."""

    def __init__(self, stream) -> None:
        import threading

        self._stream, self._tail = stream, b""
        self._thread = threading.Thread(target=self._copy, daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        import sys

        while chunk := os.read(self._stream.fileno(), 4096):
            out = getattr(sys.stderr, "buffer", None)
            if out is not None:
                out.write(chunk)
                out.flush()  # progress bars are meant to be seen as they move
            else:
                sys.stderr.write(chunk.decode(errors="replace"))
                sys.stderr.flush()
            self._tail = (self._tail + chunk)[-4096:]

    def last_line(self) -> str:
        self._thread.join(timeout=5)
        lines = self._tail.decode(errors="replace").replace("\r", "\n").splitlines()
        return next((line for line in reversed(lines) if line.strip()), "")


def _last_line(path: Path) -> str:
    lines = path.read_text(errors="replace").replace("\r", "\n").splitlines()
    return next((line for line in reversed(lines) if line.strip()), "")


def launch_local(nproc: int, argv: list[str]) -> int:
    """Run ``python -m ganzoo ARGV`` as ``nproc`` ranks on this machine (what ``torchrun --standalone`` does).

    Rank 0 keeps the terminal; the other ranks write to log files. When a rank fails, or this process is
    interrupted or terminated, the others are stopped; the last line of each failed rank's log is shown unless it
    only repeats rank 0's error, and the logs are then kept. On CPU each rank gets an equal share of the cores
    (``OMP_NUM_THREADS``) unless that is set. Returns the exit status to leave with: that of the first rank seen
    failing.
    """
    import shutil
    import signal
    import subprocess
    import sys
    import tempfile
    import time

    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()),
           "WORLD_SIZE": str(nproc), "LOCAL_WORLD_SIZE": str(nproc)}
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    logs = Path(tempfile.mkdtemp(prefix="ganzoo-ranks-"))
    procs: list[subprocess.Popen] = []
    failed: list[int] = []  # ranks in the order they were seen failing

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        for rank in range(nproc):
            rank_env = {**env, "RANK": str(rank), "LOCAL_RANK": str(rank)}
            with open(logs / f"rank{rank}.log", "w") if rank else contextlib.nullcontext() as out:
                procs.append(subprocess.Popen([sys.executable, "-m", "ganzoo", *argv], env=rank_env, stdout=out,
                                              stderr=subprocess.STDOUT if out else subprocess.PIPE))
        main_err = _Tee(procs[0].stderr)
        while not failed and any(p.poll() is None for p in procs):
            time.sleep(0.2)
            failed += [rank for rank, p in enumerate(procs) if p.poll() not in (None, 0) and rank not in failed]
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            p.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    failed += [rank for rank, p in enumerate(procs) if p.returncode not in (0, -signal.SIGTERM) and rank not in failed]
    main_line, shown = main_err.last_line(), False
    for rank in (r for r in failed if r):
        line = _last_line(logs / f"rank{rank}.log") or f"rank {rank}: exited with status {procs[rank].returncode}"
        said = line.removeprefix(f"rank {rank}: ")
        if said != main_line and not said.endswith(RANK0_FAILED):  # an error is said once, by the rank that had it
            sys.stderr.write(line + "\n")
            shown = True
    if shown:
        sys.stderr.write(f"the other ranks' logs are in {logs}\n")
    else:
        shutil.rmtree(logs, ignore_errors=True)
    if not failed:
        return 0
    code = procs[failed[0]].returncode
    return code if code > 0 else 128 - code
