"""Freezing a pretrained part for good, and checking that a "frozen" part really did not change.

Several methods train one part against another that must stay fixed: CCVS trains its transformer with the
autoencoder and flow module frozen (Sec. 3.3); MoCoGAN-HD learns a motion generator in the latent space of a
frozen, pretrained image generator (Sec. 3); cINN's second stage freezes the first-stage decoder. Three ways a
"frozen" part still trains, all silent:

1. a typo such as ``p.required_grad = False`` (MoCoGAN-HD's public ``toggle_grad`` has it) creates a new
   attribute and leaves ``requires_grad`` on, so an optimizer that holds the parameters updates them;
2. the training loop calls ``model.train()`` every step, which puts the frozen part's batch-norm layers back
   in training mode: their running statistics (buffers, not parameters) keep moving;
3. a frozen parameter left in an optimizer with weight decay or momentum state is still changed by it when
   its gradient is zero rather than ``None``.

:func:`freeze` prevents all three for a module (no gradients, evaluation mode that survives ``train()``), and
:func:`snapshot` / :func:`changed_since` let a test or a chapter assert that nothing of a part moved.
"""

from __future__ import annotations

import types

import torch
from torch import nn

__all__ = ["changed_since", "freeze", "is_frozen", "snapshot"]


def _stay_in_eval(self: nn.Module, mode: bool = True) -> nn.Module:
    """Replacement ``train`` of a frozen module: every submodule stays in evaluation mode."""
    for module in self.modules():
        module.training = False
    return self


def freeze(module: nn.Module) -> nn.Module:
    """Freeze ``module`` in place and return it: no parameter requires a gradient, and the module and all its
    submodules stay in evaluation mode even when a parent calls ``.train()`` (batch-norm statistics fixed,
    dropout off). Gradients still flow *through* it to its inputs (MoCoGAN-HD trains its motion generator
    through the frozen image generator). Build optimizers from ``p for p in model.parameters() if
    p.requires_grad`` so that no frozen parameter is handed to one."""
    module.requires_grad_(False)
    for sub in module.modules():
        sub.train = types.MethodType(_stay_in_eval, sub)        # instance attribute shadows nn.Module.train
    return module.train(False)


def is_frozen(module: nn.Module) -> bool:
    """Whether ``module`` has no trainable parameter and is (and stays) in evaluation mode."""
    return (not any(p.requires_grad for p in module.parameters())
            and not any(m.training for m in module.modules())
            and all(getattr(m.train, "__func__", None) is _stay_in_eval for m in module.modules()))


@torch.no_grad()
def snapshot(module: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of every parameter *and buffer* of ``module`` (its full state dict, detached)."""
    return {name: value.detach().clone() for name, value in module.state_dict().items()}


@torch.no_grad()
def changed_since(module: nn.Module, before: dict[str, torch.Tensor]) -> list[str]:
    """Names of the parameters and buffers of ``module`` that differ (bit for bit) from :func:`snapshot`'s copy."""
    now = module.state_dict()
    if set(now) != set(before):
        raise ValueError(f"changed_since: the module's state names changed: {sorted(set(now) ^ set(before))}")
    return [name for name, value in now.items() if not torch.equal(value, before[name])]
