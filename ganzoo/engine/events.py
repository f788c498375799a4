"""What the training loop reports as it runs: a record per step and the callbacks that receive it (the engine never
prints; the CLI draws its progress bar from these)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class StepStats:
    """What one generator step produced; handed to the progress callback and written to metrics.jsonl."""

    step: int
    d_loss: float
    g_loss: float
    d_real: float  # mean D score on real data
    d_fake: float  # mean D score on generated data
    penalties: dict[str, float]  # unweighted value of each regulariser's penalty at the last D step that applied it
    images_per_s: float
    elapsed_s: float  # wall time since this process started training
    train_s: float = 0.0  # seconds spent in training steps since the run began, across resumes

    def as_dict(self) -> dict[str, float | int]:
        out = {k: v for k, v in self.__dict__.items() if k != "penalties"}
        out.update(self.penalties)
        return out


@dataclass
class Events:
    """Optional callbacks, so the engine never prints: the CLI draws a progress bar from these."""

    on_start: Callable[[int, int], None] | None = None  # (first step, last step)
    on_step: Callable[[StepStats], None] | None = None
    on_checkpoint: Callable[[int, Path], None] | None = None
    on_warning: Callable[[str], None] | None = None  # one-line notes: skipped checkpoints, set-aside files
    on_info: Callable[[str], None] | None = None  # one-line facts worth showing, e.g. the process layout
    on_fid: Callable[[dict], None] | None = None  # a FID-while-training record (see ganzoo.engine.tracking)
    extra: dict = field(default_factory=dict)

    def warn(self, message: str) -> None:
        if self.on_warning:
            self.on_warning(message)

    def info(self, message: str) -> None:
        if self.on_info:
            self.on_info(message)
