"""Training loggers: the interface a logger plugin implements, and the fan-out the engine writes through.

A run always logs to the loggers registered with ``always=True`` (the built-in metrics.jsonl writer, which resume
and the plots read) and to those named with ``--log``. Only rank 0 of a data-parallel run logs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from ganzoo.engine.rundir import RunDir
    from ganzoo.registry import Registry


class Logger:
    """Receives what a training run records. Every method is optional (the defaults do nothing).

    Records and samples are shared between loggers: read them, never modify them.
    """

    def log(self, record: Mapping[str, Any]) -> None:
        """One metrics.jsonl record, always with an int ``"step"``: a step's values (``d_loss``, ``g_loss``, ...)
        or an FID evaluation while training (``"fid"``, ``"extractor"``, ``"fid_n"``, ``"train_s"``)."""

    def log_samples(self, samples: torch.Tensor, kind: str, step: int) -> None:
        """The run's fixed-noise samples at ``step``: images ``(N, C, H, W)`` in [-1, 1] when ``kind`` is "image",
        points ``(N, D)`` when it is "points"."""

    def log_class_samples(self, samples: torch.Tensor, kind: str, step: int, labels: torch.Tensor,
                          class_names: Sequence[str]) -> None:
        """A class-conditional run's fixed-noise samples: ``labels`` (int64 ``(N,)``) are the classes they were drawn
        for, 8 of each in class order, and ``class_names`` name the classes. By default they go to
        :meth:`log_samples` (8 per class, so a grid 8 wide shows one class per row)."""
        self.log_samples(samples, kind, step)

    def flush(self) -> None:
        """Make everything logged so far durable; called before each checkpoint is written."""

    def close(self) -> None:
        """The run ended (finished, failed or interrupted); release files and connections."""


@dataclass(frozen=True)
class LoggerContext:
    """What a logger is created with."""

    run: RunDir  # the run directory: loggers keep their files under it (RUN/tensorboard, RUN/wandb)
    config: Mapping[str, Any]  # the run's config.json record
    start_step: int  # 0 for a new run; on a resume the checkpoint's step (metrics.jsonl lost what came after it)


class Loggers(Logger):
    """Several loggers as one, in order; :meth:`close` closes every one even when one fails."""

    def __init__(self, loggers: Sequence[Logger] = ()) -> None:
        self.loggers = list(loggers)

    def log(self, record: Mapping[str, Any]) -> None:
        for logger in self.loggers:
            logger.log(record)

    def log_samples(self, samples: torch.Tensor, kind: str, step: int) -> None:
        for logger in self.loggers:
            logger.log_samples(samples, kind, step)

    def log_class_samples(self, samples: torch.Tensor, kind: str, step: int, labels: torch.Tensor,
                          class_names: Sequence[str]) -> None:
        for logger in self.loggers:
            logger.log_class_samples(samples, kind, step, labels, class_names)

    def flush(self) -> None:
        for logger in self.loggers:
            logger.flush()

    def close(self) -> None:
        error: BaseException | None = None
        for logger in reversed(self.loggers):
            try:
                logger.close()
            except Exception as exc:  # noqa: BLE001 - the others are still closed; the first failure is raised
                error = error or exc
        self.loggers = []
        if error is not None:
            raise error

    def __enter__(self) -> Loggers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def logger_names(registry: Registry, chosen: Sequence[str]) -> list[str]:
    """The loggers a run uses: every ``always`` one, then ``chosen`` in order (each once)."""
    always = [name for name in registry.names("logger") if registry.logger(name).always]
    return list(dict.fromkeys([*always, *chosen]))


def open_loggers(registry: Registry, chosen: Sequence[str], context: LoggerContext) -> Loggers:
    """Create the run's loggers; if one fails to start, those already started are closed again."""
    opened = Loggers()
    try:
        for name in logger_names(registry, chosen):
            spec = registry.logger(name)
            spec.check(f"--log {name}")
            logger = spec.create(context)
            if not isinstance(logger, Logger):
                from ganzoo.errors import PluginError

                raise PluginError(f"logger {name!r} created {type(logger).__name__}, not a ganzoo.Logger")
            opened.loggers.append(logger)
    except BaseException:
        opened.close()
        raise
    return opened
