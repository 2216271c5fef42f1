"""Training: one explicit loop (fit), deterministic batches, EMA, checkpoints, DDP."""

from vidsynth_lite.train.batches import StepBatches, collate
from vidsynth_lite.train.ema import EMA
from vidsynth_lite.train.loop import FitResult, NonFiniteLossError, fit, read_log, to_device
from vidsynth_lite.train.state import CheckpointStore

__all__ = [
           "EMA",
           "CheckpointStore",
           "FitResult",
           "NonFiniteLossError",
           "StepBatches",
           "collate",
           "fit",
           "read_log",
           "to_device",
]
