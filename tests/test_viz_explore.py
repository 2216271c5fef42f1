"""vl.viz.explore under an unattended executor: the static figure, a slider with the first view under it, and
no message the executor must answer while the cell runs (those can strand the cell's reply: chapter 7's hang)."""

import json

import pytest
from nbformat.v4 import new_code_cell, new_notebook

import vidsynth_lite as vl


def test_static_values_spread_over_the_range():
    assert vl.viz.widgets.static_values(range(12), 4) == [0, 4, 7, 11]
    assert vl.viz.widgets.static_values([1, 2], 4) == [1, 2]
    with pytest.raises(ValueError, match="at least one value"):
        vl.viz.widgets.static_values([], 4)


def test_explore_under_nbclient_sends_the_driver_nothing_to_answer(tmp_path):
    from nbclient import NotebookClient

    nb = new_notebook(cells=[new_code_cell(
        "import numpy as np\nimport vidsynth_lite as vl\n\n"
        "def render(ax, k):\n    ax.imshow(np.full((4, 4), k))\n\n"
        "vl.viz.explore(render, 'k', list(range(6)), static_count=3)")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    client = NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}})
    sent = []
    with client.setup_kernel():
        shell = client.kc.shell_channel
        send = shell.send
        shell.send = lambda msg: sent.append(msg["header"]["msg_type"]) or send(msg)
        client.execute_cell(nb.cells[0], 0)
    outputs = nb.cells[0].outputs
    assert outputs[0]["output_type"] == "display_data" and "image/png" in outputs[0]["data"]   # static row
    assert "application/vnd.jupyter.widget-view+json" in outputs[-1]["data"]                   # the slider
    assert sent == ["execute_request"], f"the executor had to answer the kernel during the cell: {sent}"
    state = client.widget_state
    sliders = [s for s in state.values() if s.get("_model_name") == "IntSliderModel"]
    views = [s for s in state.values() if s.get("_model_name") == "OutputModel"]
    assert len(sliders) == 1 and sliders[0]["description"] == "k" and sliders[0]["max"] == 5
    assert len(views) == 1 and "image/png" in json.dumps(views[0]["outputs"]), "first view missing"
