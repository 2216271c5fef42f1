"""One evaluation for every method: the same inputs, the same sample counts, the trivial baselines, the floors.

Every method chapter calls :func:`evaluate` with the test clips, the conditioning length and each method's
samples, and prints, stores and compares what it returns::

    ev = vl.metrics.evaluate(
        real=test_clips,                      # [M, T, 3, H, W] in [-1, 1]: the test clips (the same for every method)
        samples={"VQ-VAE T=1.0": s10,         # [M, K, T, 3, H, W]: K samples for each of the M inputs
                 "VQ-VAE T=1.2": s12},
        cond_frames=4,                        # frames given to the method (0: unconditional generation)
        reference=floor_clips,                # [M, T, 3, H, W]: real clips disjoint from ``real`` (the floors)
        reconstructions=recon,                # [M, T, 3, H, W] or None: the autoencoder's reconstruction of real
        draws=3,                              # disjoint draws of M / 3 inputs: mean +- std, paired verdicts
        i3d_clips=8,                          # clips per side for the real-I3D FVD (0 with skip=("FVD",))
        skip=(),                              # metrics the caller chooses not to compute (a profile setting)
        protocol={"world": "pushbot", "split": "test", "seed": 0})
    ev                                        # the table (text or HTML)
    ev.compare("VQ-VAE T=1.0", "copy last frame", "FVD-syn")   # "A beats B" only when it is resolved
    ev.to_dict()                              # every number with its protocol, for results/<chapter>.json
    ev.plot_curves()                          # per-frame PSNR / SSIM, best-of-K and mean-of-K

What it computes, and how (the protocol of every number says the same):

- **Rows**: the trivial baselines first, computed from the same inputs with the same counts -- *copy last frame*
  (conditional: the last given frame held for the rest of the clip), *still real frame* (unconditional: frame 0
  of each reference clip held for the whole clip: perfect frames, no motion, independent of the test clips as a
  method's samples are), *autoencoder ceiling* (the
  reconstruction of the true clip, when ``reconstructions`` is given) -- then every method, then the
  *real vs reference* row (the floor: two disjoint real sets).
- **Conditioning**: the first ``cond_frames`` frames of every clip (samples, baselines, reconstructions) are
  replaced by the true given frames, so that all rows show the same given frames and differ only in what they
  predict. Frame metrics (PSNR, SSIM) score the predicted frames ``t >= cond_frames`` only.
- **Draws**: the M inputs are split into ``draws`` disjoint blocks of ``n = M / draws`` (in the given order).
  Each distribution score is computed per draw, between the ``n`` real clips and the ``n`` generated clips of
  those inputs; the table shows the mean +- std over draws beside the floor (real vs reference at the same n).
- **All K samples are used**: a distribution score of a method is the mean over k of the score of the set made
  of sample k of every input (``n`` clips per side, never ``n x K`` against ``n``); baselines have K = 1.
- **FVD-syn / KVD-syn** on SynVideo's video features, **FID-syn** on its per-frame features (the predicted frames
  of every clip), **FVD\\*-syn** against the reconstructions (true given frames + reconstructed future, the same
  pasting as the samples), **DIV-syn** (mean pairwise video-feature distance among the K samples of an input; 0
  for deterministic rows), **PSNR / SSIM** per predicted frame, best-of-K (the sample with the best mean over
  time, per input) and mean-of-K, **PSNR-moving** (PSNR over the pixels that change in the truth after the last
  given frame, by more than ``MOVING_THRESHOLD``), **FVD** (the real Kinetics I3D) on the first ``i3d_clips``
  inputs, sample 0, one draw, with its own floor.
- **Nothing is hidden**: set sizes that differ, values outside [-1, 1], NaNs, or metrics that fail raise at once.
  A metric is left out only when the caller lists it in ``skip`` (a chapter's profile), and the table says so.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np
import torch

from vidsynth_lite.checks import InputError, check_same_clips, check_samples, check_video
from vidsynth_lite.metrics.fvd import metric_name
from vidsynth_lite.metrics.image import ssim
from vidsynth_lite.metrics.kernel import mmd2_unbiased
from vidsynth_lite.metrics.score import Score, protocol_line

FRAME_METRICS = ("PSNR best-of-K", "PSNR mean-of-K", "SSIM best-of-K", "SSIM mean-of-K",
                 "PSNR-moving best-of-K", "PSNR-moving mean-of-K")
VIDEO_METRICS = ("FVD-syn", "KVD-syn", "FID-syn", "FVD*-syn", "DIV-syn", "FVD")
METRICS = FRAME_METRICS + VIDEO_METRICS
SKIPPABLE = ("PSNR", "SSIM", "PSNR-moving", "FVD-syn", "KVD-syn", "FID-syn", "FVD*-syn", "DIV-syn", "FVD")
LOWER_IS_BETTER = ("FVD-syn", "KVD-syn", "FID-syn", "FVD*-syn", "FVD")
FLOOR = "real vs reference (floor)"
COPY_LAST, STILL_FRAME, CEILING = "copy last frame", "still real frame", "autoencoder ceiling"
MOVING_THRESHOLD = 0.05        # |x_t - x_{c-1}| (max over channels, [-1, 1] units) above which a pixel "moves"
PSNR_CAP_DB = 100.0            # PSNR of identical images is infinite; capped so that means stay finite


def _family(metric: str) -> str:
    """The skip name of a table metric (``"PSNR best-of-K"`` -> ``"PSNR"``)."""
    return metric.split(" ")[0]


@dataclasses.dataclass
class Verdict:
    """The paired comparison of two scores over the same draws (see :meth:`Evaluation.compare`).

    ``a`` and ``b`` name what was compared (a row, or "row [metric]" when two metrics of rows are compared).
    ``a_better`` is True / False when the comparison is resolved, None when it is not.
    """

    a: str
    b: str
    metric: str
    a_value: float
    b_value: float
    difference: float          # mean over draws of (a - b)
    std: float | None          # standard deviation over draws of (a - b); None with one draw
    draws: int
    n_per_draw: int
    resolved: bool             # |difference| > 2 std (and >= 2 draws)
    a_better: bool | None      # when resolved: is a the better one (for DIV-syn: the more diverse one)
    text: str

    @property
    def winner(self) -> str | None:
        return None if self.a_better is None else (self.a if self.a_better else self.b)

    @property
    def effect(self) -> float | None:
        """The difference in units of its spread over draws."""
        if self.std is None or self.std == 0:
            return None
        return self.difference / self.std

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict:
        return {**dataclasses.asdict(self), "winner": self.winner, "effect": self.effect}


@dataclasses.dataclass
class Evaluation:
    """What :func:`evaluate` returns: scores per row and metric, per-frame curves, the protocol."""

    rows: dict[str, dict]                       # name -> {"kind", "samples_per_input"}
    scores: dict[str, dict[str, Score]]         # name -> metric -> Score (mean +- std over draws, per-draw values)
    curves: dict[str, dict[str, np.ndarray]]    # name -> "PSNR best-of-K" ... -> [T - cond_frames]
    skipped: dict[str, str]                     # metric family -> why
    protocol: dict

    # -------------------------------------------------------------------------------------------- verdicts
    def _score(self, row: str, metric: str) -> Score:
        if row not in self.scores:
            raise KeyError(f"no row {row!r}; rows: {list(self.scores)}")
        if metric not in self.scores[row]:
            raise KeyError(f"row {row!r} has no {metric!r} ({self.skipped.get(_family(metric), 'not defined')}); "
                           f"it has: {list(self.scores[row])}")
        return self.scores[row][metric]

    def compare(self, a: str, b: str, metric: str, b_metric: str | None = None) -> Verdict:
        """"A beats B" only when the paired difference over the same draws exceeds twice its std; otherwise
        "not resolved at this N". Lower is better for FVD/KVD/FID; higher for PSNR/SSIM; for DIV-syn the verdict
        says which row is more diverse. ``b_metric`` compares ``a``'s ``metric`` with ``b``'s ``b_metric`` (for
        example FVD*-syn against FVD-syn of one row); both must be lower-is-better or both higher-is-better."""
        b_metric = b_metric or metric
        if (metric in LOWER_IS_BETTER) != (b_metric in LOWER_IS_BETTER):
            raise ValueError(f"{metric} and {b_metric} do not share a direction (lower / higher is better)")
        sa, sb = self._score(a, metric), self._score(b, b_metric)
        da, db = np.asarray(sa.draws, float), np.asarray(sb.draws, float)
        if da.shape != db.shape:
            raise ValueError(f"{a!r} and {b!r} were scored on different draws ({len(da)} vs {len(db)})")
        diff = da - db
        mean = float(diff.mean())
        std = float(diff.std(ddof=1)) if len(diff) > 1 else None
        resolved = std is not None and mean != 0 and abs(mean) > 2 * std
        n = int(sa.protocol.get("n_real", sa.protocol.get("n_per_draw", 0)) or 0)
        better_a = mean < 0 if metric in LOWER_IS_BETTER else mean > 0
        la, lb = (a, b) if b_metric == metric else (f"{a} [{metric}]", f"{b} [{b_metric}]")
        name = metric if b_metric == metric else f"{metric} vs {b_metric}"
        spread = (f"std {std:.4g} over {len(diff)} draws" if std is not None else "one draw: no spread")
        numbers = (f"{sa.value:.4g} vs {sb.value:.4g} (difference {mean:+.4g}, {spread}"
                   + (f"; {abs(mean) / std:.1f} std)" if std else ")"))
        if resolved and FLOOR in (a, b) and b_metric == metric:
            other, floor_value = (b, sa.value) if a == FLOOR else (a, sb.value)
            side = "above" if self._score(other, metric).value > floor_value else "below"
            text = f"{other} is {side} the real-vs-real floor on {metric}: {numbers}"
        elif resolved:
            win, lose = (la, lb) if better_a else (lb, la)
            if b_metric != metric:
                verb = "is lower than" if metric in LOWER_IS_BETTER else "is higher than"
            else:
                verb = "is more diverse than" if metric == "DIV-syn" else "beats"
            text = f"{win} {verb} {lose}" + ("" if b_metric != metric else f" on {metric}") + f": {numbers}"
        else:
            text = f"{la} vs {lb} on {name}: not resolved at this N (n = {n} per draw): {numbers}"
        return Verdict(la, lb, name, sa.value, sb.value, mean, std, len(diff), n, resolved,
                       better_a if resolved else None, text)

    # -------------------------------------------------------------------------------------------- output
    def metrics(self) -> list[str]:
        present = {m for s in self.scores.values() for m in s}
        return [m for m in METRICS if m in present]

    def table(self) -> list[list[str]]:
        """Rows of strings: header, then one line per row (``value +- std`` per metric; ``-`` if undefined)."""
        cols = self.metrics()
        out = [["", *cols]]
        for name in self.scores:
            line = [name]
            for m in cols:
                s = self.scores[name].get(m)
                if s is None:
                    line.append("-")
                elif s.std is None:
                    line.append(f"{s.value:.4g}")
                else:
                    line.append(f"{s.value:.4g} +- {s.std:.2g}")
            out.append(line)
        return out

    def __str__(self) -> str:
        rows = self.table()
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        lines.append("")
        lines.append("protocol: " + protocol_line(self.protocol))
        for family, why in self.skipped.items():
            lines.append(f"skipped {family}: {why}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html
        rows = self.table()
        head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows[1:])
        notes = "".join(f"<br>skipped {html.escape(k)}: {html.escape(v)}" for k, v in self.skipped.items())
        return (f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
                f"<p style='font-size:smaller'>protocol: {html.escape(protocol_line(self.protocol))}{notes}</p>")

    def to_dict(self) -> dict:
        """JSON-ready: the global protocol, every score with its own protocol and per-draw values, the curves."""
        return {"protocol": dict(self.protocol), "skipped": dict(self.skipped),
                "rows": {name: {**self.rows.get(name, {"kind": "floor"}),
                                "metrics": {m: s.to_dict() for m, s in self.scores[name].items()}}
                         for name in self.scores},
                "curves": {name: {k: [float(x) for x in v] for k, v in c.items()} for name, c in self.curves.items()}}

    def plot_curves(self, axes=None, rows: Iterable[str] | None = None):
        """Per-frame PSNR and SSIM (best-of-K solid, mean-of-K dashed) against the frame index."""
        import matplotlib.pyplot as plt
        if not self.curves:
            raise ValueError("no per-frame curves: unconditional evaluation, or PSNR and SSIM were skipped")
        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(11, 3.2))
        c = self.protocol["cond_frames"]
        for name in rows or self.curves:
            for ax, key in zip(axes, ("PSNR", "SSIM")):
                for how, style in (("best-of-K", "-"), ("mean-of-K", "--")):
                    curve = self.curves[name].get(f"{key} {how}")
                    if curve is None or (how == "mean-of-K" and self.rows[name]["samples_per_input"] == 1):
                        continue
                    label = name if self.rows[name]["samples_per_input"] == 1 else f"{name} {how}"
                    ax.plot(range(c + 1, c + 1 + len(curve)), curve, style, label=label)
        for ax, key in zip(axes, ("PSNR (dB)", "SSIM")):
            ax.set(xlabel="frame", ylabel=key)
        axes[1].legend(fontsize=7)
        return axes


# ------------------------------------------------------------------------------------------------ helpers

def _check_inputs(real, samples, cond_frames, reference, reconstructions, draws, skip, i3d_clips):
    check_video(real, name="real")
    m, t = real.shape[:2]
    if not isinstance(samples, dict) or not samples:
        raise InputError("samples: expected a dict {method name: tensor [M, K, T, C, H, W]} with at least one entry")
    for name, s in samples.items():
        if not isinstance(name, str) or not name:
            raise InputError(f"samples: method names must be non-empty strings, got {name!r}")
        if name in (FLOOR, COPY_LAST, STILL_FRAME, CEILING):
            raise InputError(f"samples: {name!r} is the name of a row evaluate() adds; rename the method")
        check_samples(s, name=f"samples[{name!r}]")
        if s.shape[0] != m:
            raise InputError(f"samples[{name!r}] has {s.shape[0]} inputs and real has {m}: every method is scored "
                             "on the same inputs (a set-size mismatch is an error, never a silent cut)")
        check_same_clips(real, s[:, 0], names=("real", f"samples[{name!r}]"))
    check_video(reference, name="reference")
    if reference.shape != real.shape:
        raise InputError(f"reference must match real in shape (the floor is real vs reference at the same N): "
                         f"got {tuple(reference.shape)} and {tuple(real.shape)}")
    if reconstructions is not None:
        check_video(reconstructions, name="reconstructions")
        if reconstructions.shape != real.shape:
            raise InputError(f"reconstructions must be the reconstruction of every real clip, shape "
                             f"{tuple(real.shape)}; got {tuple(reconstructions.shape)}")
    if isinstance(cond_frames, bool) or not isinstance(cond_frames, int) or not 0 <= cond_frames < t:
        raise InputError(f"cond_frames must be an int in [0, {t - 1}] (0: unconditional), got {cond_frames!r}")
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
        raise InputError(f"draws must be an int >= 1, got {draws!r}")
    if m % draws or m // draws < 2:
        raise InputError(f"{m} inputs cannot be split into {draws} disjoint draws of equal size >= 2: choose M "
                         f"divisible by draws (nothing is dropped silently)")
    unknown = set(skip) - set(SKIPPABLE)
    if unknown:
        raise InputError(f"skip: unknown metrics {sorted(unknown)}; allowed: {list(SKIPPABLE)}")
    if isinstance(i3d_clips, bool) or not isinstance(i3d_clips, int) or not 0 <= i3d_clips <= m:
        raise InputError(f"i3d_clips must be an int in [0, {m}], got {i3d_clips!r}")
    if "FVD" not in skip and i3d_clips < 2:
        raise InputError(f"the real-I3D FVD needs i3d_clips >= 2 clips per side (got {i3d_clips}); pass "
                         "i3d_clips=N, or skip=('FVD',) to leave it out on purpose")


def _paste(clips: torch.Tensor, real: torch.Tensor, c: int) -> torch.Tensor:
    """``clips [M, K, T, ...]`` with the first ``c`` frames replaced by the true given frames of ``real``."""
    if c == 0:
        return clips
    out = clips.clone()
    out[:, :, :c] = real[:, None, :c]
    return out


def _rows(real, reference, samples, c, reconstructions) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Every row's clips ``[M, K, T, C, H, W]`` (baselines first) and its kind."""
    m, t = real.shape[:2]
    clips, kinds = {}, {}
    if c > 0:
        held = real[:, c - 1:c].expand(m, t - c, *real.shape[2:])             # [M, T - c, C, H, W]
        clips[COPY_LAST] = torch.cat([real[:, :c], held], 1)[:, None]         # [M, 1, T, C, H, W]
    else:
        # frame 0 of the reference clips (real, but not the test clips themselves: like a method's samples)
        clips[STILL_FRAME] = reference[:, :1].expand_as(real)[:, None]        # [M, 1, T, C, H, W]
    kinds[next(iter(clips))] = "baseline"
    if reconstructions is not None:
        clips[CEILING] = _paste(reconstructions[:, None], real, c)
        kinds[CEILING] = "baseline"
    for name, s in samples.items():
        clips[name] = _paste(s, real, c)
        kinds[name] = "method"
    return clips, kinds


def _blocks(m: int, draws: int) -> list[slice]:
    n = m // draws
    return [slice(d * n, (d + 1) * n) for d in range(draws)]


def _summary(per_draw, floors=None, protocol=None) -> Score:
    vals = [float(v) for v in per_draw]
    return Score(float(np.mean(vals)), dict(protocol or {}),
                 std=float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
                 floor=None if floors is None else float(np.mean(floors)), draws=vals,
                 floor_draws=None if floors is None else [float(f) for f in floors])


def _frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    from vidsynth_lite.metrics.frechet import frechet_distance_from_features
    return frechet_distance_from_features(a.numpy(), b.numpy())


def _frame_scores(clips: torch.Tensor, real: torch.Tensor, c: int, chunk: int = 64) -> dict[str, torch.Tensor]:
    """PSNR and SSIM per predicted frame ``[M, K, T - c]`` and PSNR-moving per sample ``[M, K]`` (NaN: no motion)."""
    m, k = clips.shape[:2]
    truth = real[:, c:]                                                       # [M, T - c, C, H, W]
    moving = (truth - real[:, c - 1:c]).abs().amax(2, keepdim=True) > MOVING_THRESHOLD   # [M, T - c, 1, H, W]
    ps, ss, pm = [], [], []
    for i in range(0, m, chunk):
        pred = clips[i:i + chunk, :, c:].double()                            # [m', K, T - c, C, H, W]
        tgt = truth[i:i + chunk, None].double().expand_as(pred)
        err = (pred - tgt).pow(2)                                            # squared error per pixel
        mse = err.flatten(-3).mean(-1).clamp(min=4.0 * 10 ** (-PSNR_CAP_DB / 10))
        ps.append(10 * torch.log10(4.0 / mse))                               # Eq.: 10 log10(L^2 / MSE), L = 2
        ss.append(ssim(pred, tgt))
        mask = moving[i:i + chunk, None].expand(-1, k, -1, err.shape[3], -1, -1).double()
        count = mask.flatten(2).sum(-1)                                      # moving pixel-values per sample
        mse_m = (err * mask).flatten(2).sum(-1) / count.clamp(min=1)
        p = 10 * torch.log10(4.0 / mse_m.clamp(min=4.0 * 10 ** (-PSNR_CAP_DB / 10)))
        pm.append(torch.where(count > 0, p, torch.full_like(p, float("nan"))))
    return {"PSNR": torch.cat(ps), "SSIM": torch.cat(ss).double(), "PSNR-moving": torch.cat(pm)}


def _best_and_mean(values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``[M, K, T']`` -> best-of-K (the sample with the best mean over time, per input) and mean-of-K ``[M, T']``."""
    best = values.mean(2).argmax(1)                                          # [M]
    chosen = values.gather(1, best[:, None, None].expand(-1, 1, values.shape[2]))[:, 0]
    return chosen, values.mean(1)


# ------------------------------------------------------------------------------------------------ evaluate

def evaluate(real: torch.Tensor, samples: dict[str, torch.Tensor], *, cond_frames: int,
             reference: torch.Tensor, reconstructions: torch.Tensor | None = None, network="syn-video",
             draws: int = 3, skip: Iterable[str] = (), i3d_clips: int = 0, i3d_network="i3d-k400",
             protocol: dict | None = None, device: torch.device | str = "cpu") -> Evaluation:
    """Score every method and the trivial baselines on the same inputs (see the module docstring).

    Args:
        real: the test clips ``[M, T, 3, H, W]`` in [-1, 1] (for conditional methods: the true clips whose first
            ``cond_frames`` frames were given).
        samples: ``{method: [M, K, T, 3, H, W]}``: K samples for each input; K may differ between methods.
        cond_frames: frames given to every method (0 for unconditional generation).
        reference: real clips disjoint from ``real``, same shape: the real-vs-real floor of every score.
        reconstructions: the autoencoder's reconstruction of ``real`` (FVD*-syn and the ceiling row), or None.
        network: the feature network of the ``-syn`` scores (``"syn-video"``, the shipped network, or an object
            with ``both(videos) -> (video features [N, D], frame features [N, T, D'])``).
        draws: disjoint draws (M must be divisible by it); verdicts pair the draws.
        skip: metric families not to compute (``"PSNR"``, ``"SSIM"``, ``"PSNR-moving"``, ``"FVD-syn"``,
            ``"KVD-syn"``, ``"FID-syn"``, ``"FVD*-syn"``, ``"DIV-syn"``, ``"FVD"``); the table says so.
        i3d_clips: clips per side for the real-I3D FVD (first inputs, sample 0); required unless "FVD" is
            skipped.
        protocol: entries added to every protocol (world, split, seed ...).
    """
    skip = tuple(skip)
    _check_inputs(real, samples, cond_frames, reference, reconstructions, draws, skip, i3d_clips)
    real, reference = real.float(), reference.float()
    m, t = real.shape[:2]
    c = cond_frames
    blocks = _blocks(m, draws)
    n = m // draws
    clips, kinds = _rows(real, reference, samples, c, reconstructions)
    skipped = {f: "skipped by the caller" for f in SKIPPABLE if f in skip}
    if c == 0:
        for f in ("PSNR", "SSIM", "PSNR-moving"):
            skipped.setdefault(f, "not defined for unconditional generation (no ground truth per sample)")
    if reconstructions is None:
        skipped.setdefault("FVD*-syn", "no reconstructions given (the method has no autoencoder)")
    base = {"clip_length": t, "resolution": f"{real.shape[3]}x{real.shape[4]}", "inputs": m, "draws": draws,
            "n_per_draw": n, "cond_frames": c,
            "conditioning": (f"the first {c} frames of every clip are the true given frames" if c
                             else "unconditional"), **(protocol or {})}
    scores: dict[str, dict[str, Score]] = {name: {} for name in clips}
    scores[FLOOR] = {}
    curves: dict[str, dict[str, np.ndarray]] = {}

    # ---- frame metrics: PSNR / SSIM per predicted frame, best-of-K and mean-of-K
    frame_families = [f for f in ("PSNR", "SSIM", "PSNR-moving") if f not in skipped]
    if frame_families:
        for name, x in clips.items():
            k = x.shape[1]
            fs = _frame_scores(x, real, c)
            curves[name] = {}
            for fam in frame_families:
                proto = {**base, "metric": fam, "frames_scored": f"{c + 1}..{t} (the predicted frames)",
                         "samples_per_input": k, "data_range": 2.0, "psnr_cap_db": PSNR_CAP_DB}
                if fam == "SSIM":
                    proto["ssim"] = "Gaussian window 11, sigma 1.5, K1 0.01, K2 0.03 (Wang et al. 2004)"
                if fam == "PSNR-moving":
                    proto["moving_pixels"] = (f"pixels whose true value differs from the last given frame by more "
                                              f"than {MOVING_THRESHOLD} (max over channels); per sample, the MSE "
                                              "over all its moving pixels; clips without any are left out")
                    v = fs[fam]                                               # [M, K]
                    best = torch.where(torch.isnan(v), torch.full_like(v, -torch.inf), v).amax(1)
                    best = torch.where(torch.isinf(best), torch.full_like(best, float("nan")), best)
                    for how, per_input in (("best-of-K", best), ("mean-of-K", v.nanmean(1))):
                        per_draw = [float(per_input[b].nanmean()) for b in blocks]
                        used = int((~torch.isnan(per_input)).sum())
                        scores[name][f"{fam} {how}"] = _summary(
                            per_draw, protocol={**proto, "metric": f"{fam} {how}", "clips_with_motion": used})
                    continue
                best, mean = _best_and_mean(fs[fam])                          # [M, T - c] each
                for how, per_frame in (("best-of-K", best), ("mean-of-K", mean)):
                    per_draw = [float(per_frame[b].mean()) for b in blocks]
                    scores[name][f"{fam} {how}"] = _summary(per_draw, protocol={**proto, "metric": f"{fam} {how}"})
                    curves[name][f"{fam} {how}"] = per_frame.mean(0).numpy()  # [T - c] over all inputs

    # ---- SynVideo features: FVD-syn, KVD-syn, FID-syn, FVD*-syn, DIV-syn
    syn_families = [f for f in ("FVD-syn", "KVD-syn", "FID-syn", "FVD*-syn", "DIV-syn") if f not in skipped]
    if syn_families:
        from vidsynth_lite.metrics.features import get_network
        net = get_network(network, device=device)
        if "FID-syn" in syn_families and not hasattr(net, "both"):
            raise TypeError(f"network {net.name!r} has no per-frame features for FID-syn: use 'syn-video' or "
                            "skip=('FID-syn',)")

        def feats(videos):                                                    # [N, T, ...] -> video, frame feats
            if hasattr(net, "both"):
                v, f = net.both(videos)
                return v.double(), f.double()
            return torch.as_tensor(net(videos)).double(), None

        net_proto = {"network": net.name, "network_hash": getattr(net, "hash", "unknown"),
                     "preprocessing": getattr(net, "preprocessing", "unknown"),
                     "covariance": "unbiased (N-1), float64", "floor": "real vs reference, same n per draw"}
        real_v, real_f = feats(real)
        ref_v, ref_f = feats(reference)
        recon_vf = feats(clips[CEILING][:, 0]) if reconstructions is not None else None   # pasted, like samples
        recon_v = recon_vf[0] if recon_vf is not None else None

        def frames_of(f, idx):                                                # predicted frames of a draw, flat
            return f[idx, c:].reshape(-1, f.shape[-1])                        # [n (T - c), D']

        floor_fvd = [_frechet(real_v[b], ref_v[b]) for b in blocks]
        floor_kvd = [mmd2_unbiased(real_v[b].numpy(), ref_v[b].numpy()) for b in blocks]
        floor_fid = ([_frechet(frames_of(real_f, b), frames_of(ref_f, b)) for b in blocks]
                     if "FID-syn" in syn_families else None)
        for name, x in clips.items():
            mk, k = x.shape[0], x.shape[1]
            # the ceiling row is the FVD* reference set: its features are computed once
            v, f = recon_vf if name == CEILING else feats(x.flatten(0, 1))   # [M*K, D], [M*K, T, D']
            v = v.view(mk, k, -1)                                             # [M, K, D]
            if f is not None:
                f = f.view(mk, k, t, -1)                                      # [M, K, T, D']
            proto = {**base, **net_proto, "samples_per_input": k, "n_real": n, "n_fake": n,
                     "samples_used": ("each of the K samples of every input: the score is the mean over k of the "
                                      "score of {sample k of each input}" if k > 1 else "the one clip per input")}
            if "FVD-syn" in syn_families:
                per = [np.mean([_frechet(real_v[b], v[b, j]) for j in range(k)]) for b in blocks]
                scores[name]["FVD-syn"] = _summary(per, floor_fvd, {**proto, "metric": metric_name("FVD", net.name)})
            if "KVD-syn" in syn_families:
                per = [np.mean([mmd2_unbiased(real_v[b].numpy(), v[b, j].numpy()) for j in range(k)])
                       for b in blocks]
                scores[name]["KVD-syn"] = _summary(per, floor_kvd, {
                    **proto, "metric": metric_name("KVD", net.name), "kernel": "(x.y/d + 1)^3, unbiased MMD^2"})
            if "FID-syn" in syn_families:
                per = [np.mean([_frechet(frames_of(real_f, b), frames_of(f[:, j], b)) for j in range(k)])
                       for b in blocks]
                scores[name]["FID-syn"] = _summary(per, floor_fid, {
                    **proto, "metric": metric_name("FID", net.name), "frames_scored": f"{c + 1}..{t}",
                    "n_frames_per_side": n * (t - c)})
            if "FVD*-syn" in syn_families and name != CEILING:
                per = [np.mean([_frechet(recon_v[b], v[b, j]) for j in range(k)]) for b in blocks]
                scores[name]["FVD*-syn"] = _summary(per, None, {
                    **proto, "metric": "FVD*-syn", "floor": "none (the reference is the reconstructions)",
                    "reference_set": "the reconstructions of the real clips, with the true given frames pasted "
                                     "in as in the samples"})
            if "DIV-syn" in syn_families:
                if k == 1:
                    per = [0.0] * draws
                else:
                    iu = torch.triu_indices(k, k, offset=1)
                    pair = torch.cdist(v, v)[:, iu[0], iu[1]].mean(1)              # [M] mean pairwise distance
                    per = [float(pair[b].mean()) for b in blocks]
                scores[name]["DIV-syn"] = _summary(per, None, {
                    **proto, "metric": "DIV-syn", "div": "mean pairwise Euclidean distance of video features "
                    "among the K samples of an input, averaged over inputs (cINN Sec. 4.3); 0 when K = 1"})
        if "FVD-syn" in syn_families:
            scores[FLOOR]["FVD-syn"] = _summary(floor_fvd, None, {**base, **net_proto, "metric": "FVD-syn",
                                                                  "n_real": n, "n_fake": n})
        if "KVD-syn" in syn_families:
            scores[FLOOR]["KVD-syn"] = _summary(floor_kvd, None, {**base, **net_proto, "metric": "KVD-syn",
                                                                  "n_real": n, "n_fake": n})
        if floor_fid is not None:
            scores[FLOOR]["FID-syn"] = _summary(floor_fid, None, {**base, **net_proto, "metric": "FID-syn",
                                                                  "n_real": n, "n_fake": n})

    # ---- the real Kinetics-400 I3D, at the N the caller affords
    if "FVD" not in skipped:
        from vidsynth_lite.metrics.features import get_network
        i3d = get_network(i3d_network, device=device)
        ni = i3d_clips
        ri, fi = torch.as_tensor(i3d(real[:ni])).double(), torch.as_tensor(i3d(reference[:ni])).double()
        floor = _frechet(ri, fi)
        proto = {**base, "network": i3d.name, "network_hash": getattr(i3d, "hash", "unknown"),
                 "preprocessing": getattr(i3d, "preprocessing", "unknown"), "n_real": ni, "n_fake": ni,
                 "draws": 1, "samples_used": "sample 0 of the first N inputs",
                 "note": (f"N = {ni} clips per side for {getattr(i3d, 'dim', 400)}-d features: a biased, high-variance "
                          "estimate; only a value well above its floor (real vs reference, same N) means anything"),
                 "covariance": "unbiased (N-1), float64"}
        for name, x in clips.items():
            scores[name]["FVD"] = _summary([_frechet(ri, torch.as_tensor(i3d(x[:ni, 0])).double())], [floor],
                                           {**proto, "metric": metric_name("FVD", i3d.name)})
        scores[FLOOR]["FVD"] = _summary([floor], None, {**proto, "metric": "FVD"})

    if not scores[FLOOR]:
        del scores[FLOOR]
    rows = {name: {"kind": kinds[name], "samples_per_input": int(x.shape[1])} for name, x in clips.items()}
    proto = {**base, "rows": list(scores), "metrics": [m for m in METRICS if any(m in s for s in scores.values())]}
    return Evaluation(rows=rows, scores=scores, curves=curves, skipped=skipped, protocol=proto)


def compare(evaluation: Evaluation, a: str, b: str, metric: str) -> Verdict:
    """``evaluation.compare(a, b, metric)`` (module-level spelling)."""
    return evaluation.compare(a, b, metric)
