"""The training engine: configuration, the loop, checkpoints and run directories."""

from ganzoo.engine.config import TrainConfig, resolve
from ganzoo.engine.loop import Events, StepStats, Trainer, TrainingDiverged, train
from ganzoo.engine.rundir import RunDir, find_run

__all__ = ["Events", "RunDir", "StepStats", "TrainConfig", "Trainer", "TrainingDiverged", "find_run", "resolve",
           "train"]
