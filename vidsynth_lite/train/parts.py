"""Named parts of a training run and the state a step function updates them through.

Every method in the book trains with one loop, :func:`vidsynth_lite.train.fit_parts`. What differs between
methods is *which* networks exist and *in which order* they are updated; both are the method's to say:

* :class:`Part` -- one named network with its optimizer, scheduler, gradient clipping and weight EMA. A part
  without an optimizer is **frozen**: its parameters stop requiring gradients, it is put in ``eval()`` mode, and
  the loop verifies at every checkpoint that not one of its weights or buffers changed ("frozen means
  frozen": MoCoGAN-HD's official code left its "frozen" image generator training through a ``toggle_grad``
  typo).
* a **step function** ``step(state, batch) -> {"name": 0-d tensor}`` -- the method's training step. It computes
  losses and calls ``state.update(name, loss)`` for each optimizer step, in the order the paper says; it returns
  the terms to log (tensors stay on the device: the loop reads them only on logging steps, so a step never waits
  for the GPU).
* :class:`TrainState` -- what the step function sees: the parts' modules (``state["G"]``), the step number,
  ``state.every(k)`` for lazy regularisation, and ``state.update``.

Keep a frozen network as its own part, not as a submodule of a trained one: the loop puts trained parts in
``train()`` mode at every step, which would move a nested network's batch-norm statistics. Where a frozen
network must sit inside a trained module, freeze it with ``vidsynth_lite.nn.freeze`` (it stays in eval mode)
and build the part's optimizer from the parameters that still require gradients.

``state.update(name, loss)`` is one optimizer step of one part: ``zero_grad``; ``loss.backward`` into *that
part's parameters only* (``backward(inputs=...)``: a generator loss leaves no stale gradient in the
discriminator); the gradient all-reduce under DDP; gradient-norm clipping (the part's ``grad_clip``); the
optimizer step. Schedulers and EMAs advance once per loop step for every part updated in it (the schedule is
counted in loop steps, so a part updated twice in a step -- a main loss and a lazy penalty -- does not skip
ahead). The whole step function runs under bf16 autocast when ``fit_parts(..., bf16=True)`` and the device is a
GPU; ``update`` runs the backward pass outside autocast.

A GAN step, D then G (the shape of d2l's ``update_D`` / ``update_G``), with StyleGAN2's lazy R1 penalty every
16 steps (StyleGAN2 Sec. 3.1: the penalty is multiplied by the interval so its strength is unchanged)::

    import torch
    import torch.nn.functional as F
    import vidsynth_lite as vl
    from vidsynth_lite.train import Part

    R1_EVERY, R1_GAMMA, Z = 16, 10.0, 64

    def update_D(state, real):
        G, D = state["G"], state["D"]
        z = torch.randn(real.shape[0], Z, device=real.device)   # the global RNG: saved in every checkpoint
        with torch.no_grad():
            fake = G(z)
        loss = F.softplus(D(fake)).mean() + F.softplus(-D(real)).mean()    # non-saturating D loss
        state.update("D", loss)
        if state.every(R1_EVERY):                                         # lazy R1 (StyleGAN2 Sec. 3.1)
            real = real.detach().requires_grad_(True)
            grad, = torch.autograd.grad(D(real).sum(), real, create_graph=True)
            r1 = grad.pow(2).flatten(1).sum(1).mean()
            state.update("D", R1_GAMMA / 2 * r1 * R1_EVERY)
        return loss

    def update_G(state, batch_size, device):
        z = torch.randn(batch_size, Z, device=device)
        loss = F.softplus(-state["D"](state["G"](z))).mean()               # non-saturating G loss
        state.update("G", loss)
        return loss

    def gan_step(state, real):
        d_loss = update_D(state, real)
        g_loss = update_G(state, real.shape[0], real.device)
        return {"d_loss": d_loss, "g_loss": g_loss}                       # logged on logging steps

    parts = {
        "G": Part(G, torch.optim.Adam(G.parameters(), 2e-4, betas=(0.0, 0.99)), ema_decay=0.999),
        "D": Part(D, torch.optim.Adam(D.parameters(), 2e-4, betas=(0.0, 0.99)), grad_clip=10.0),
    }
    result = vl.train.fit_parts(parts, gan_step, vl.train.StepBatches(videos, 32, seed=cfg.seed),
                                steps=cfg.steps, run_dir=vl.config.run_dir(cfg), config=cfg.to_dict())
    sampler = result.emas["G"].averaged(G)                               # the EMA generator

Other schedules are other step functions, not other loops: TrIVD-GAN-FP's two D updates per G update call
``update_D`` twice (with the batch split in two, or two batches from ``batches``); MoCoGAN-HD's several G steps
call ``update_G`` in a loop; a late weight EMA is ``Part(..., ema_decay=0.9999, ema_start=20_000)`` (before
``ema_start`` the average is a copy of the weights); a frozen network is ``Part(model)`` with no optimizer and may
be called freely inside the step (gradients still flow *through* it to its inputs).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from vidsynth_lite.train import distributed
from vidsynth_lite.train.ema import EMA


@dataclass
class Part:
    """One named network of a training run.

    Args:
        model: the module (its parameters and buffers are saved in every checkpoint).
        optimizer: optimizes parameters of ``model`` only; ``None`` makes the part frozen.
        scheduler: a ``torch.optim.lr_scheduler`` of ``optimizer``, stepped once per loop step in which the part
            was updated.
        grad_clip: clip the part's global gradient norm to this value at every ``update`` (the norm before
            clipping of the step's last update is logged as ``grad_norm_<name>``; ``grad_norm`` for part
            ``"model"``).
        ema_decay: keep an exponential moving average of the weights with this decay (updated once per loop
            step in which the part was updated).
        ema_start: loop step from which the average starts; before it the average is a copy of the weights
            (TrIVD-GAN-FP / BigGAN start their EMA late).
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer | None = None
    scheduler: Any = None
    grad_clip: float | None = None
    ema_decay: float | None = None
    ema_start: int = 0

    @property
    def frozen(self) -> bool:
        return self.optimizer is None

    def check(self, name: str) -> None:
        """Raise one clear error for a part that cannot be trained as declared."""
        if not isinstance(self.model, nn.Module):
            raise TypeError(f"part {name!r}: model must be an nn.Module, got {type(self.model).__name__}")
        if self.frozen:
            extras = {k: v for k, v in (("scheduler", self.scheduler), ("grad_clip", self.grad_clip),
                                        ("ema_decay", self.ema_decay)) if v is not None}
            if extras:
                raise ValueError(f"part {name!r} is frozen (no optimizer) but has {sorted(extras)}; a frozen "
                                 "part is never updated")
            return
        if not isinstance(self.optimizer, torch.optim.Optimizer):
            raise TypeError(f"part {name!r}: optimizer must be a torch.optim.Optimizer or None (frozen), got "
                            f"{type(self.optimizer).__name__}")
        own = {id(p) for p in self.model.parameters()}
        foreign = [p for g in self.optimizer.param_groups for p in g["params"] if id(p) not in own]
        if foreign:
            raise ValueError(f"part {name!r}: its optimizer holds {len(foreign)} tensor(s) that are not parameters "
                             "of its model; checkpoints save the model's parameters, so register them as "
                             "nn.Parameter of the model (or give them their own part)")
        if self.scheduler is not None and getattr(self.scheduler, "optimizer", None) is not self.optimizer:
            raise ValueError(f"part {name!r}: its scheduler does not drive its optimizer")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"part {name!r}: grad_clip must be > 0 or None, got {self.grad_clip!r}")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"part {name!r}: ema_decay must be in (0, 1) or None, got {self.ema_decay!r}")
        if isinstance(self.ema_start, bool) or not isinstance(self.ema_start, int) or self.ema_start < 0:
            raise ValueError(f"part {name!r}: ema_start must be an int >= 0, got {self.ema_start!r}")

    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        """The parameters this part's optimizer steps (and that require gradients), in the optimizer's order."""
        if self.frozen:
            return []
        return [p for g in self.optimizer.param_groups for p in g["params"] if p.requires_grad]


class TrainState:
    """What a step function sees: the parts' modules, the step number, and :meth:`update`.

    ``state["G"]`` is part G's module; ``state.step`` is the number of steps completed before this one (0 at the
    first step of a run); ``state.device`` is where batches live.
    """

    def __init__(self, parts: dict[str, Part], device: torch.device, world_size: int = 1):
        self.parts = parts
        self.device = device
        self.world_size = world_size
        self.emas: dict[str, EMA] = {name: EMA(p.model, p.ema_decay) for name, p in parts.items()
                                     if p.ema_decay is not None}
        self.step = 0
        self._params = {name: p.trainable_parameters() for name, p in parts.items()}
        self._updated: list[str] = []           # parts updated in this step, in order
        self._losses: list[tuple[str, torch.Tensor]] = []
        self._grad_norms: dict[str, torch.Tensor] = {}

    def __getitem__(self, name: str) -> nn.Module:
        return self._part(name).model

    def __iter__(self) -> Iterator[str]:
        return iter(self.parts)

    def _part(self, name: str) -> Part:
        if name not in self.parts:
            raise KeyError(f"no part named {name!r}; the parts are {sorted(self.parts)}")
        return self.parts[name]

    def every(self, k: int) -> bool:
        """True on steps 0, k, 2k, ... (lazy regularisation: StyleGAN2 applies R1 every 16 steps)."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"every(k) needs an int k >= 1, got {k!r}")
        return self.step % k == 0

    def update(self, name: str, loss: torch.Tensor, *, retain_graph: bool = False) -> None:
        """One optimizer step of part ``name`` on ``loss`` (zero_grad, backward, all-reduce, clip, step).

        Gradients flow into this part's parameters only. ``retain_graph=True`` keeps the graph for a later
        ``update`` of another part that back-propagates through the same forward pass. ``loss`` is checked for
        NaN / inf on the next logging or checkpoint step (without waiting for the device now).
        """
        part = self._part(name)
        if part.frozen:
            raise ValueError(f"part {name!r} is frozen (it has no optimizer) and cannot be updated")
        if not isinstance(loss, torch.Tensor) or loss.ndim != 0 or not loss.requires_grad:
            what = (f"a tensor of shape {tuple(loss.shape)}" + ("" if loss.requires_grad else " without grad")
                    if isinstance(loss, torch.Tensor) else type(loss).__name__)
            raise TypeError(f"update({name!r}, loss) needs a scalar tensor that requires grad, got {what}")
        params = self._params[name]
        if not params:
            raise ValueError(f"part {name!r}: no parameter of its optimizer requires grad; nothing to update")
        part.optimizer.zero_grad(set_to_none=True)
        if torch.is_autocast_enabled(self.device.type):
            with torch.autocast(device_type=self.device.type, enabled=False):  # backward outside autocast
                loss.backward(inputs=params, retain_graph=retain_graph)
        else:
            loss.backward(inputs=params, retain_graph=retain_graph)
        if self.world_size > 1:
            distributed.average_gradients(params)
        if part.grad_clip is not None:
            self._grad_norms[name] = torch.nn.utils.clip_grad_norm_(params, part.grad_clip)
        part.optimizer.step()
        self._losses.append((name, loss.detach()))
        self._updated.append(name)

    # ------------------------------------------------------------------ used by the loop, not by step functions
    def _begin(self, step: int) -> None:
        self.step = step
        self._updated, self._losses, self._grad_norms = [], [], {}

    def _end(self) -> list[str]:
        """Advance schedulers and EMAs of the parts updated in this step; return their names."""
        updated = list(dict.fromkeys(self._updated))
        for name in updated:
            part = self.parts[name]
            if part.scheduler is not None:
                part.scheduler.step()
            if name in self.emas:
                # before ema_start the average is a copy of the weights (decay 0)
                self.emas[name].update(part.model, decay=None if self.step >= part.ema_start else 0.0)
        return updated
