"""Exponential moving average of a model's weights (Polyak averaging), used for evaluation and sampling."""

from __future__ import annotations

import copy

import torch


class EMA:
    """Keep ``shadow = decay * shadow + (1 - decay) * weights`` after every optimiser step.

    Floating-point parameters and buffers are averaged; integer buffers (counters) are copied.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module, decay: float | None = None) -> None:
        """One averaging step; ``decay`` overrides ``self.decay`` for this step (``0.0`` copies the weights)."""
        decay = self.decay if decay is None else decay
        for key, value in model.state_dict().items():
            average = self.shadow[key]
            if average.dtype.is_floating_point:
                average.lerp_(value.detach(), 1.0 - decay)  # shadow += (1 - decay) (value - shadow)
            else:
                average.copy_(value)

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.shadow

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        missing = set(self.shadow) - set(state)
        if missing:
            raise KeyError(f"EMA state lacks {sorted(missing)[:5]}")
        for key, value in state.items():
            self.shadow[key].copy_(value)

    def copy_to(self, model: torch.nn.Module) -> torch.nn.Module:
        """Load the averaged weights into ``model`` (in place) and return it. Spectrally normalised layers get
        their power-iteration vectors re-estimated for the averaged weights: the average of ``u, v`` is not the
        singular vector of the average of ``W`` (:func:`vidsynth_lite.nn.spectral.refresh_spectral_norm`)."""
        from vidsynth_lite.nn.spectral import refresh_spectral_norm

        model.load_state_dict(self.shadow)
        return refresh_spectral_norm(model)

    def averaged(self, model: torch.nn.Module) -> torch.nn.Module:
        """A copy of ``model`` holding the averaged weights (the original is untouched)."""
        return self.copy_to(copy.deepcopy(model)).eval()
