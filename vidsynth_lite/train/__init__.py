"""Training: one explicit loop for every method (fit_parts; fit for one model), deterministic batches, EMA,
checkpoints with exact resume, DDP. The step-function API and a worked GAN step: :mod:`vidsynth_lite.train.parts`.
"""

from vidsynth_lite.train.batches import StepBatches, collate
from vidsynth_lite.train.ema import EMA
from vidsynth_lite.train.loop import (
    FitResult,
    FrozenPartChangedError,
    NonFiniteLossError,
    RunMismatchError,
    fit,
    fit_parts,
    read_log,
    to_device,
)
from vidsynth_lite.train.parts import Part, TrainState
from vidsynth_lite.train.state import CheckpointStore

__all__ = [
           "EMA",
           "CheckpointStore",
           "FitResult",
           "FrozenPartChangedError",
           "NonFiniteLossError",
           "Part",
           "RunMismatchError",
           "StepBatches",
           "TrainState",
           "collate",
           "fit",
           "fit_parts",
           "read_log",
           "to_device",
]
