"""The training engine: configuration, the loop, checkpoints and run directories."""

from ganzoo.engine.config import TrainConfig, resolve
from ganzoo.engine.events import Events, StepStats
from ganzoo.engine.loop import Trainer, TrainingDiverged
from ganzoo.engine.rundir import RunDir, find_run
from ganzoo.engine.training import train

__all__ = ["Events", "RunDir", "StepStats", "TrainConfig", "Trainer", "TrainingDiverged", "find_run", "resolve",
           "train"]
