"""The built-in loggers: metrics.jsonl and sample grids in the run directory (always on), TensorBoard and Weights &
Biases (``--log tensorboard,wandb``; optional extras ``ganzoo[tensorboard]`` and ``ganzoo[wandb]``)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

import ganzoo
from ganzoo.loggers import LoggerContext


def _scalars(record: Mapping[str, Any]) -> dict[str, float]:
    """The record's finite numbers, less the step itself."""
    return {key: float(value) for key, value in record.items()
            if key != "step" and isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value)}


class JsonlLogger(ganzoo.Logger):
    """``RUN/metrics.jsonl`` (one JSON object per record, line-buffered) and ``RUN/samples/step_NNNNNN.png``."""

    def __init__(self, context: LoggerContext) -> None:
        self.run = context.run
        self.file = open(context.run.metrics, "a", buffering=1)  # noqa: SIM115 - closed by close()

    def log(self, record: Mapping[str, Any]) -> None:
        self.file.write(json.dumps(record) + "\n")

    def log_samples(self, samples: torch.Tensor, kind: str, step: int) -> None:
        from ganzoo.plots import save_samples

        save_samples(samples, self.run.sample_grid(step), kind=kind)

    def log_class_samples(self, samples: torch.Tensor, kind: str, step: int, labels: torch.Tensor,
                          class_names: Sequence[str]) -> None:
        from ganzoo.plots import save_class_grid

        save_class_grid(samples, labels, class_names, self.run.sample_grid(step))

    def flush(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())  # the metrics up to a checkpoint are on disk before the checkpoint is

    def close(self) -> None:
        self.file.close()


class TensorBoardLogger(ganzoo.Logger):
    """Event files in ``RUN/tensorboard``: each record's numbers as scalars (an FID evaluation as ``fid``, with
    ``fid_n`` and its timing), the sample grids as the image ``samples``. A resume purges the events after its
    checkpoint, as metrics.jsonl drops them."""

    def __init__(self, context: LoggerContext) -> None:
        from torch.utils.tensorboard import SummaryWriter

        purge = context.start_step + 1 if context.start_step else None
        self.writer = SummaryWriter(log_dir=str(context.run.root / "tensorboard"), purge_step=purge)

    def log(self, record: Mapping[str, Any]) -> None:
        step = int(record["step"])
        prefix = "fid/" if "fid" in record else ""
        for key, value in _scalars(record).items():
            self.writer.add_scalar("fid" if key == "fid" else prefix + key, value, step)

    def log_samples(self, samples: torch.Tensor, kind: str, step: int) -> None:
        from ganzoo.plots import render_samples

        self.writer.add_image("samples", render_samples(samples, kind), step, dataformats="HWC")

    def log_class_samples(self, samples: torch.Tensor, kind: str, step: int, labels: torch.Tensor,
                          class_names: Sequence[str]) -> None:
        from ganzoo.plots import render_samples

        self.writer.add_image("samples", render_samples(samples, kind, 8), step, dataformats="HWC")  # a class a row

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class WandbLogger(ganzoo.Logger):
    """A Weights & Biases run in ``RUN/wandb``, named after the run directory, with config.json as its config.

    The W&B project is ``$WANDB_PROJECT`` (default ``ganzoo``); ``WANDB_MODE=offline`` logs without an account or
    network (``wandb sync RUN/wandb/offline-run-*`` uploads later). The W&B run id is kept in ``RUN/wandb/run-id`` so
    a resume continues the same W&B run; W&B ignores steps it has already seen, so steps replayed after a resume
    keep their first values there.
    """

    def __init__(self, context: LoggerContext) -> None:
        import wandb

        folder = context.run.root / "wandb"
        folder.mkdir(parents=True, exist_ok=True)
        id_file = folder / "run-id"
        run_id = id_file.read_text().strip() if id_file.is_file() else ""
        if not run_id:
            import uuid

            from ganzoo.engine.checkpoint import atomic_write

            run_id = uuid.uuid4().hex[:12]  # W&B ids: lower-case letters and digits
            atomic_write(id_file, lambda tmp: Path(tmp).write_text(run_id + "\n"))
        self.wandb = wandb
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "ganzoo"), name=context.run.root.name,
                              id=run_id, resume="allow", dir=str(context.run.root), config=dict(context.config),
                              settings=wandb.Settings(console="off", quiet=True))
        self.last_step = int(getattr(self.run, "step", 0) or 0)  # a resumed W&B run already holds these steps

    def log(self, record: Mapping[str, Any]) -> None:
        step = int(record["step"])
        values = {("fid/" + k if "fid" in record and k != "fid" else k): v for k, v in _scalars(record).items()}
        if step >= self.last_step:
            self.run.log(values, step=step)
            self.last_step = step

    def log_samples(self, samples: torch.Tensor, kind: str, step: int, nrow: int | None = None) -> None:
        from ganzoo.plots import render_samples

        if step >= self.last_step:
            self.run.log({"samples": self.wandb.Image(render_samples(samples, kind, nrow))}, step=step)
            self.last_step = step

    def log_class_samples(self, samples: torch.Tensor, kind: str, step: int, labels: torch.Tensor,
                          class_names: Sequence[str]) -> None:
        self.log_samples(samples, kind, step, nrow=8)  # 8 per class: one class a row

    def close(self) -> None:
        self.run.finish()


@ganzoo.hookimpl
def ganzoo_register_loggers(register):
    register(ganzoo.LoggerSpec("jsonl", "metrics.jsonl and samples/step_N.png in the run directory (always on: "
                                        "resume, plots and reports read them)", JsonlLogger, always=True))
    register(ganzoo.LoggerSpec("tensorboard", "TensorBoard event files in RUN/tensorboard: losses, FID, sample grids",
                               TensorBoardLogger, requires=("tensorboard",),
                               install="pip install 'ganzoo[tensorboard]'"))
    register(ganzoo.LoggerSpec("wandb", "a Weights & Biases run (WANDB_MODE=offline works without an account)",
                               WandbLogger, requires=("wandb",), install="pip install 'ganzoo[wandb]'"))
