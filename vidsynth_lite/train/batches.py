"""Batches as a pure function of the step: the reason resuming a run is exact.

``StepBatches(dataset, batch_size, seed)(step)`` always returns the same batch for the same step: the data order
is a seeded permutation per epoch, and the position in it is ``step * batch_size``. A resumed run therefore
continues on exactly the batch the interrupted run would have seen next, with no sampler state to save.
"""

from __future__ import annotations

from typing import Any

import torch


def collate(items: list[Any]) -> Any:
    """Stack a list of items (tensors, numbers, or dicts of them) along a new first dimension."""
    first = items[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(items)
    if isinstance(first, dict):
        return {k: collate([it[k] for it in items]) for k in first}
    if isinstance(first, (int, float, bool)):
        return torch.tensor(items)
    return list(items)


class StepBatches:
    """Deterministic batches from a map-style dataset: ``batches(step) -> batch``.

    Args:
        dataset: anything with ``__len__`` and ``__getitem__``.
        batch_size: the global batch size (under DDP each process takes its share of it).
        seed: seeds the per-epoch shuffling.
        key: if given, return only ``item[key]`` of dict items (e.g. ``"video"``).
        shuffle: shuffle each epoch (``False``: dataset order).
    """

    def __init__(self, dataset, batch_size: int, seed: int = 0, key: str | None = None, shuffle: bool = True):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if len(dataset) < 1:
            raise ValueError("the dataset is empty; expected at least one item")
        self.dataset, self.batch_size, self.seed, self.key, self.shuffle = dataset, batch_size, seed, key, shuffle
        self._orders: dict[int, torch.Tensor] = {}

    def _order(self, epoch: int) -> torch.Tensor:
        if epoch not in self._orders:
            n = len(self.dataset)
            if self.shuffle:
                generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                self._orders[epoch] = torch.randperm(n, generator=generator)
            else:
                self._orders[epoch] = torch.arange(n)
            for stale in [e for e in self._orders if e != epoch][:-3]:  # keep a few recent epochs
                del self._orders[stale]
        return self._orders[epoch]

    def describe(self) -> dict[str, Any]:
        """What makes these batches what they are (part of a run's signature: a changed seed is refused)."""
        return {"class": type(self).__name__, "dataset": type(self.dataset).__name__, "items": len(self.dataset),
                "batch_size": self.batch_size, "seed": self.seed, "key": self.key, "shuffle": self.shuffle}

    def indices(self, step: int) -> list[int]:
        n = len(self.dataset)
        positions = range(step * self.batch_size, (step + 1) * self.batch_size)
        return [int(self._order(p // n)[p % n]) for p in positions]

    def __call__(self, step: int) -> Any:
        items = [self.dataset[i] for i in self.indices(step)]
        if self.key is not None:
            items = [item[self.key] for item in items]
        return collate(items)
