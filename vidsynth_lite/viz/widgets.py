"""Interactive views with a static fallback.

In JupyterLab a slider re-runs ``render`` (ipywidgets). A rendered page cannot run Python, so the same call
first draws a static row of small multiples -- ``render`` at a few evenly spaced values -- which every reader
sees, with or without a kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any


def static_values(values: Sequence[Any], count: int) -> list[Any]:
    """Up to ``count`` evenly spaced items of ``values`` (first and last included)."""
    values = list(values)
    if not values:
        raise ValueError("expected at least one value to show")
    if len(values) <= count:
        return values
    step = (len(values) - 1) / (count - 1)
    return [values[round(i * step)] for i in range(count)]


def explore(render: Callable[[Any, Any], None], name: str, values: Sequence[Any], static_count: int = 4,
            panel_size: float = 2.6) -> None:
    """Show ``render(ax, value)`` for ``value`` in ``values``: static small multiples, then a live slider.

    ``render`` draws on the matplotlib axes it is given. The static figure is always displayed (PNG); the slider
    is added when ipywidgets is importable and a kernel is running it.
    """
    import matplotlib.pyplot as plt

    shown = static_values(values, static_count)
    fig, axes = plt.subplots(1, len(shown), figsize=(panel_size * len(shown), panel_size), squeeze=False)
    for ax, value in zip(axes[0], shown):
        render(ax, value)
        ax.set_title(f"{name} = {value}", fontsize=9)
    fig.tight_layout()
    plt.show()

    try:
        import ipywidgets
    except ImportError:
        return
    options = list(values)

    def _draw(index: int) -> None:
        _, ax = plt.subplots(figsize=(panel_size * 1.5, panel_size * 1.5))
        render(ax, options[index])
        ax.set_title(f"{name} = {options[index]}", fontsize=9)
        plt.show()

    ipywidgets.interact(_draw, index=ipywidgets.IntSlider(min=0, max=len(options) - 1, value=0,
                                                          description=name, continuous_update=False))
