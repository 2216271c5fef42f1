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
    (with the first value drawn under it) is added when ipywidgets is importable, and redraws when a reader moves
    it in a live kernel.
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
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:   # plain Python: no front end to show a slider
        return
    from IPython.display import display

    options = list(values)
    slider = ipywidgets.IntSlider(min=0, max=len(options) - 1, value=0, description=name,
                                  continuous_update=False)
    view = ipywidgets.Output()

    def _draw(index: int) -> None:
        # The figure goes into the Output widget as data (its ``outputs``), never by capturing output
        # (``with view:``, as ``ipywidgets.interact`` does): an unattended executor (nbclient, for papermill and
        # the book) answers each captured output with a message on the kernel's shell socket while it waits
        # for the cell's reply, which can strand that reply and hang the run
        # (see vidsynth_lite/reproduce/kernel.py).
        fig, ax = plt.subplots(figsize=(panel_size * 1.5, panel_size * 1.5))
        render(ax, options[index])
        ax.set_title(f"{name} = {options[index]}", fontsize=9)
        data, metadata = shell.display_formatter.format(fig)
        plt.close(fig)
        view.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)

    _draw(0)
    slider.observe(lambda change: _draw(change["new"]), names="value")
    display(ipywidgets.VBox([slider, view]))

