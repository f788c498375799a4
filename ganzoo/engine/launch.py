"""``ganzoo train --nproc N``: start N ranks on this machine, as ``torchrun --standalone`` does, and report failures
in one place."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ganzoo.engine.distributed import RANK0_FAILED


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _last_line(text: str) -> str:
    """The last non-blank line of ``text``, progress-bar carriage returns counted as line ends."""
    return next((line for line in reversed(text.replace("\r", "\n").splitlines()) if line.strip()), "")


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
        return _last_line(self._tail.decode(errors="replace"))


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
        line = (_last_line((logs / f"rank{rank}.log").read_text(errors="replace"))
                or f"rank {rank}: exited with status {procs[rank].returncode}")
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
