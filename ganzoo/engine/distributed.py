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

import torch
import torch.distributed as dist

from ganzoo.errors import ConfigError, DeviceError

RANK0_FAILED = "rank 0 could not start the run (its error says why)"  # what the other ranks raise then


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


def leave(joined: bool, finished: bool = False) -> None:
    """Tear down the process group :func:`join` created (a caller's own group is left alone).

    ``finished``: every rank got here without an error, so all of them wait for each other first. A rank that
    tears gloo down while another still has work in flight can abort at exit ("terminate called without an active
    exception"), seen under load on a 2-core machine.
    """
    if joined and dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


@contextlib.contextmanager
def exit_without_finalising() -> Iterator[None]:
    """End this training process when the body returns or exits, without the interpreter's finalisation.

    A gloo worker thread lets go of a finished collective's tensors a moment after the collective returns, and
    letting go needs the GIL; if the main thread is finalising the interpreter by then, the process aborts
    ("terminate called without an active exception"). Seen on 2-core machines when a rank exits right after an
    error every rank agreed on. ``destroy_process_group`` does not join those threads once DistributedDataParallel
    has used the group (its reducer keeps the group alive), so a rank's command line runs its exit handlers and
    flushes its streams here, then leaves with ``os._exit``.
    """
    import atexit
    import sys

    code: object = 0
    try:
        yield
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):  # as the interpreter does: the message, then status 1
        sys.stderr.write(f"{code}\n")
        code = 1
    atexit._run_exitfuncs()  # what finalisation would have run: loggers' and temporary files' handlers
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code or 0)
