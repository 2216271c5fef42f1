"""The recurrent units of TrIVD-GAN-FP's Table 2 by name, all with the contract ``unit(x, h) -> h_next``.

``WARPING_UNITS`` also have ``transform(x, h) -> W`` (per-pixel kernels, the motion-like features of Fig. 3) and
``update(x, h, W)``.
"""

from __future__ import annotations

from torch import nn

from .conv_recurrent import ConvGRU, ConvLSTM
from .transform_recurrent import KTrajGRU, PTSRUs, TSRUc, TSRUp, TSRUs

RECURRENT_UNITS: dict[str, type[nn.Module]] = {
    "convlstm": ConvLSTM, "convgru": ConvGRU, "ktrajgru": KTrajGRU,
    "tsru_c": TSRUc, "tsru_p": TSRUp, "tsru_s": TSRUs, "ptsru_s": PTSRUs,
}
WARPING_UNITS = ("ktrajgru", "tsru_c", "tsru_p", "tsru_s", "ptsru_s")


def make_recurrent_unit(name: str, input_channels: int, hidden_channels: int, **kwargs) -> nn.Module:
    """Build unit ``name`` (a key of :data:`RECURRENT_UNITS`); ``warp_kernel`` / ``num_basis`` only for the
    warping units."""
    if name not in RECURRENT_UNITS:
        raise ValueError(f"unknown recurrent unit {name!r}; expected one of {sorted(RECURRENT_UNITS)}")
    if name not in WARPING_UNITS:
        kwargs = {k: v for k, v in kwargs.items() if k not in ("warp_kernel", "num_basis")}
    return RECURRENT_UNITS[name](input_channels, hidden_channels, **kwargs)
