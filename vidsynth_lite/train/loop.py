"""The one training loop every method uses: small, explicit, resumable.

:func:`fit_parts` trains a set of named parts (one model, or G and D with their optimizers, EMAs and
penalties) with a step function the method supplies (see :mod:`vidsynth_lite.train.parts` for the API and a
worked GAN step). :func:`fit` is its special case for one model and a loss function.

One loop step: take the batch for this step (a pure function of the step), run the step function (which calls
``state.update(name, loss)`` for every optimizer step, in the method's order), advance the schedulers and EMAs
of the parts it updated, and -- on logging and checkpoint steps only -- read the logged terms back from the
device, refuse NaN / inf naming the first bad step and term, log, verify that frozen parts are unchanged, and
checkpoint. Between those steps nothing waits for the device (no ``float(loss)``), so a GPU is never idle while
the host reads a number.

Interrupt it any time (Ctrl-C, a killed process, a lost GPU node): calling it again with the same ``run_dir``
continues from the last checkpoint and ends with exactly the weights an uninterrupted run has (on CPU, bit for
bit). It resumes only the run that was asked for: a checkpoint whose signature (config, parts, shapes,
optimizer hyperparameters, batches; :mod:`vidsynth_lite.train.signature`) differs from this call's, or that
already holds more steps than asked, is refused with one message naming every difference.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vidsynth_lite import runtime
from vidsynth_lite.io.checkpoint import CheckpointError
from vidsynth_lite.train import distributed
from vidsynth_lite.train.ema import EMA
from vidsynth_lite.train.parts import Part, TrainState
from vidsynth_lite.train.signature import differences, fingerprint, run_signature
from vidsynth_lite.train.state import CheckpointStore

StepFn = Callable[[TrainState, Any], "dict[str, Any] | None"]
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_MAX_DIFF_LINES = 12


class NonFiniteLossError(FloatingPointError):
    """A loss (or a logged term) became NaN or inf; the message names the first such step and the terms."""


class RunMismatchError(CheckpointError):
    """The run folder holds another run (other settings, or more steps than asked); the message names each
    difference and how to start afresh."""


class FrozenPartChangedError(RuntimeError):
    """A part declared frozen (no optimizer) changed during training."""


@dataclass
class FitResult:
    parts: dict[str, Part]
    step: int                           # steps completed
    history: list[dict[str, float]]     # the logged records of this call (one per logging step)
    run_dir: Path
    resumed_from: int | None = None     # the checkpoint step this call started from, if any
    emas: dict[str, EMA] = field(default_factory=dict)
    seconds: float = 0.0                # wall time of this call
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> torch.nn.Module:
        """The trained module of a single-model run (:func:`fit`): part ``"model"``."""
        if "model" not in self.parts:
            raise AttributeError(f"this run has parts {sorted(self.parts)}; use result.parts[name].model")
        return self.parts["model"].model

    @property
    def ema(self) -> EMA | None:
        """The weight EMA of part ``"model"`` (single-model runs), or ``None``."""
        return self.emas.get("model")


def to_device(batch: Any, dev: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(dev, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, dev) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, dev) for v in batch)
    return batch


def _append_log(path: Path, record: dict[str, float]) -> None:
    with open(path, "a") as handle:
        handle.write(json.dumps(record) + "\n")


def _truncate_log(path: Path, step: int) -> None:
    """Keep only the log records of steps <= ``step`` (a resumed run rewrites what followed)."""
    if path.is_file():
        kept = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
        path.write_text("".join(line + "\n" for line in kept))


def _suffixed(base: str, name: str) -> str:
    return base if name == "model" else f"{base}_{name}"


def _check_parts(parts: dict[str, Part]) -> dict[str, Part]:
    if not isinstance(parts, dict) or not parts:
        raise TypeError("parts must be a non-empty dict of name -> Part, e.g. {'G': Part(G, opt_g), 'D': Part(D, "
                        "opt_d)}")
    owner: dict[int, str] = {}
    for name, part in parts.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"part name {name!r} must be letters, digits and '_' (it names checkpoint files)")
        if not isinstance(part, Part):
            raise TypeError(f"part {name!r} must be a vidsynth_lite.train.Part, got {type(part).__name__}")
        part.check(name)
        for p in part.model.parameters():
            if id(p) in owner and owner[id(p)] != name:
                raise ValueError(f"parts {owner[id(p)]!r} and {name!r} share parameters; each parameter must "
                                 "belong to one part (give the shared module its own part)")
            owner[id(p)] = name
    if all(p.frozen for p in parts.values()):
        raise ValueError(f"every part ({sorted(parts)}) is frozen; give at least one an optimizer")
    return parts


def _step_terms(terms: Any, state: TrainState) -> tuple[list[str], list[Any]]:
    """Names and values of one step's terms: the step function's, the gradient norms, the update losses."""
    if terms is None:
        terms = {}
    if not isinstance(terms, dict):
        raise TypeError(f"the step function must return a dict of name -> 0-d tensor or number (or None), got "
                        f"{type(terms).__name__}")
    names, values = [], []
    for key, value in terms.items():
        if isinstance(value, torch.Tensor):
            if value.numel() != 1:
                raise TypeError(f"logged term {key!r} must be a scalar, got a tensor of shape {tuple(value.shape)}")
            value = value.detach().reshape(())
        elif isinstance(value, numbers.Real):
            value = float(value)
        else:
            raise TypeError(f"logged term {key!r} must be a 0-d tensor or a number, got {type(value).__name__}")
        names.append(str(key))
        values.append(value)
    for name, norm in state._grad_norms.items():
        names.append(_suffixed("grad_norm", name))
        values.append(norm)
    for i, (name, loss) in enumerate(state._losses):
        names.append(f"update('{name}')#{i}")  # checked, not logged
        values.append(loss)
    return names, values


def _read(pending: list[tuple[int, list[str], list[Any]]], dev: torch.device,
          store: CheckpointStore) -> list[float]:
    """Bring the pending steps' terms to the host in one transfer (mean over processes under DDP); raise on
    the first non-finite one. Returns the numbers of the last pending step."""
    tensors = [v for _, _, values in pending for v in values if isinstance(v, torch.Tensor)]
    read = iter(distributed.mean_over_processes(
        torch.stack([t.to(dev, torch.float32) for t in tensors])).tolist() if tensors else [])
    steps = [(step, names, [next(read) if isinstance(v, torch.Tensor) else float(v) for v in values])
             for step, names, values in pending]
    for step, names, values in steps:
        bad = [(n, v) for n, v in zip(names, values) if not math.isfinite(v)]
        if bad:
            described = ", ".join(f"{n.split('#')[0]} loss = {v}" if n.startswith("update(") else f"{n} = {v}"
                                  for n, v in bad)
            raise NonFiniteLossError(f"non-finite value at step {step}: {described}; the last good checkpoint "
                                     f"is in {store.root}")
    return steps[-1][2]


def _refuse_another_run(run_dir: Path, folder: Path, saved: dict[str, Any], signature: dict[str, Any],
                        steps: int) -> None:
    if saved["step"] > steps:
        raise RunMismatchError(
            f"{run_dir} holds a run already trained for {saved['step']} steps ({folder.name}), but steps={steps} "
            f"was asked and a run cannot go back; ask for steps >= {saved['step']} to continue it, or delete "
            f"{run_dir} (or pass another run_dir) to train {steps} steps afresh")
    lines = differences(saved["signature"], signature)
    if lines:
        shown = lines[:_MAX_DIFF_LINES] + ([f"... and {len(lines) - _MAX_DIFF_LINES} more"]
                                           if len(lines) > _MAX_DIFF_LINES else [])
        raise RunMismatchError(
            f"{run_dir} holds a run with other settings than this call, so it will not resume from it:\n  "
            + "\n  ".join(shown)
            + f"\nTo start afresh, delete {run_dir} or pass another run_dir (vl.config.run_dir(cfg) names one "
            "folder per configuration); to continue the saved run, call it again with the saved settings.")


def fit_parts(parts: dict[str, Part], step_fn: StepFn, batches: Callable[[int], Any], *, steps: int,
              run_dir: str | Path, ckpt_every: int = 100, log_every: int = 10, config: dict | None = None,
              device: torch.device | None = None, bf16: bool = False, desc: str = "train",
              progress: bool = True, on_step: Callable[[int, dict], None] | None = None) -> FitResult:
    """Train ``parts`` for ``steps`` loop steps in total with ``step_fn``, resuming from ``run_dir``'s checkpoint.

    Args:
        parts: ``{"G": Part(G, opt_g, ema_decay=0.999), "D": Part(D, opt_d), "vgg": Part(vgg)}`` (a part
            without an optimizer is frozen); see :class:`~vidsynth_lite.train.parts.Part`.
        step_fn: ``step_fn(state, batch) -> {"term": 0-d tensor}`` (or ``None``); it calls
            ``state.update(name, loss)`` for each optimizer step. Returned terms are logged (read from the
            device on logging steps only) and checked for NaN / inf.
        batches: ``batches(step) -> batch``, deterministic in ``step`` (see :class:`StepBatches`).
        steps: total number of loop steps of the run (not of this call).
        ckpt_every / log_every: checkpoint / log period in steps (the last step is always both).
        config: the settings that define the run (e.g. ``cfg.to_dict()``): saved with every checkpoint and
            compared when resuming.
        bf16: bf16 autocast around the step function on a GPU (fp32 elsewhere).
        on_step: called as ``on_step(step, record)`` after every step; ``record`` holds Python floats on
            logging and checkpoint steps and 0-d device tensors otherwise (reading one waits for the device).

    Raises:
        RunMismatchError: ``run_dir`` holds a run of other settings or more steps.
        NonFiniteLossError: a term or loss became NaN / inf (named with its step).
        FrozenPartChangedError: a frozen part's weights changed.
    """
    import time

    from tqdm.auto import tqdm

    for name, value in (("steps", steps), ("ckpt_every", ckpt_every), ("log_every", log_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    parts = _check_parts(parts)
    rank, size = distributed.world()
    dev = distributed.local_device(device or runtime.device())
    for part in parts.values():
        part.model.to(dev)
        if part.frozen:
            part.model.requires_grad_(False).eval()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    log_path = run_dir / "metrics.jsonl"
    store = CheckpointStore(run_dir)
    signature = run_signature(parts, config=config, batches=batches, bf16=bf16)
    state = TrainState(parts, dev, size)

    start, resumed_from = 0, None
    latest = store.latest()
    if latest is not None:
        saved = store.read_state(latest)
        _refuse_another_run(run_dir, latest, saved, signature, steps)
        start = resumed_from = store.load(latest, parts, state.emas, saved)
        if rank == 0:
            _truncate_log(log_path, start)
    elif rank == 0 and log_path.exists():
        log_path.unlink()  # a fresh run starts a fresh log
    distributed.barrier()
    for part in parts.values():
        distributed.broadcast_from_first(part.model)
    trained = [p for p in parts.values() if not p.frozen]

    history: list[dict[str, float]] = []
    pending: list[tuple[int, list[str], list[Any]]] = []
    began = time.perf_counter()
    bar = tqdm(total=steps, initial=start, desc=desc, disable=not progress or rank != 0, leave=True)
    try:
        for step in range(start, steps):
            batch = to_device(distributed.shard(batches(step), rank, size), dev)
            for part in trained:
                part.model.train()
            state._begin(step)
            with runtime.autocast(dev, bf16):
                terms = step_fn(state, batch)
            updated = state._end()
            if not updated and step == start:
                raise ValueError(f"the step function updated no part at step {step + 1}; it must call "
                                 f"state.update(name, loss) for one of {sorted(n for n, p in parts.items() if not p.frozen)}")
            done = step + 1
            names, values = _step_terms(terms, state)
            pending.append((done, names, values))
            record: dict[str, Any] = {"step": done, **{n: v for n, v in zip(names, values) if "#" not in n}}
            is_log = done % log_every == 0 or done == steps
            is_ckpt = done % ckpt_every == 0 or done == steps
            if is_log or is_ckpt:
                host_values = _read(pending, dev, store)
                pending = []
                record = {"step": done, **{n: v for n, v in zip(names, host_values) if "#" not in n}}
                for name, part in parts.items():
                    if not part.frozen:
                        record[_suffixed("lr", name)] = float(part.optimizer.param_groups[0]["lr"])
                if is_log:
                    history.append(record)
                    if rank == 0:
                        _append_log(log_path, record)
                    shown = [k for k in record if k != "step"][:3]
                    bar.set_postfix({k: f"{record[k]:.4g}" for k in shown})
            if is_ckpt:
                for name, part in parts.items():
                    if part.frozen and fingerprint(part.model) != signature["parts"][name]["fingerprint"]:
                        raise FrozenPartChangedError(
                            f"part {name!r} is frozen (no optimizer) but its weights or buffers changed by step "
                            f"{done}: something trains it (another part's optimizer holding its parameters, an "
                            "in-place edit, batch-norm statistics updated in train mode)")
                if rank == 0:
                    store.save(done, parts, state.emas, signature, config=config)
                distributed.barrier()
            bar.update(1)
            if on_step is not None:
                on_step(done, record)
    finally:
        bar.close()
    return FitResult(parts=parts, step=max(start, steps), history=history, run_dir=run_dir,
                     resumed_from=resumed_from, emas=state.emas, seconds=time.perf_counter() - began)


def _split_loss(out: Any) -> tuple[torch.Tensor, dict[str, Any]]:
    loss, logs = out if isinstance(out, tuple) else (out, {})
    if not isinstance(loss, torch.Tensor) or loss.ndim != 0:
        raise TypeError("loss_fn must return a scalar tensor, or (scalar tensor, dict of 0-d tensors or numbers)")
    return loss, logs


def fit(model: torch.nn.Module, loss_fn: Callable, batches: Callable[[int], Any], *, steps: int,
        optimizer: torch.optim.Optimizer, run_dir: str | Path, scheduler=None, grad_clip: float | None = None,
        ema_decay: float | None = None, ckpt_every: int = 100, log_every: int = 10,
        config: dict | None = None, device: torch.device | None = None, bf16: bool = False,
        desc: str = "train", progress: bool = True,
        on_step: Callable[[int, dict], None] | None = None) -> FitResult:
    """Train one ``model`` for ``steps`` optimizer steps in total, resuming from ``run_dir`` if it has a checkpoint.

    The one-part case of :func:`fit_parts` (part ``"model"``, step function: one ``update`` on ``loss_fn``'s
    loss); everything said there holds here.

    Args:
        loss_fn: ``loss_fn(model, batch) -> loss`` or ``(loss, {"term": value})``; keep the terms as 0-d tensors
            (a ``float(...)`` in the loss function waits for the device at every step).
        batches: ``batches(step) -> batch``, deterministic in ``step`` (see :class:`StepBatches`).
        steps: total number of steps of the run (not of this call).
        grad_clip: clip the global gradient norm to this value (logged as ``grad_norm``).
        ema_decay: keep an exponential moving average of the weights with this decay (``result.ema``).
        ckpt_every / log_every: checkpoint / log period in steps (the last step is always both).
        on_step: called as ``on_step(step, record)`` after every step (e.g. to stop early).
    """

    def one_model_step(state: TrainState, batch: Any) -> dict[str, Any]:
        loss, logs = _split_loss(loss_fn(state["model"], batch))
        state.update("model", loss)
        return {"loss": loss, **logs}

    part = Part(model, optimizer, scheduler=scheduler, grad_clip=grad_clip, ema_decay=ema_decay)
    return fit_parts({"model": part}, one_model_step, batches, steps=steps, run_dir=run_dir,
                     ckpt_every=ckpt_every, log_every=log_every, config=config, device=device, bf16=bf16,
                     desc=desc, progress=progress, on_step=on_step)


def read_log(run_dir: str | Path) -> list[dict[str, float]]:
    """The logged records of a run (``run_dir/metrics.jsonl``)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]
