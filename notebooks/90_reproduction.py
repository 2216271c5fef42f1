# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Reproduction report
#
# This page is built only from the files the chapters wrote, `results/<chapter>.json`: no number is typed in.
# Each file holds the metrics, the protocol they were measured with, the profile, and the environment. When the
# book is built, the chapters ran at the `lite` profile on a CPU; a `full` run on a GPU
# (`papermill ... -f configs/<chapter>/full.yaml`) overwrites the chapter's file and this page then shows it.
# The comparison with each paper's own numbers, with both protocols named, is in each method chapter.

# %% tags=["parameters"]
profile = "lite"  # unused here: this page reads whatever the chapters wrote

# %%
import pandas as pd

import vidsynth_lite as vl

print("results folder:", vl.paths.results_dir())
overview = vl.reproduce.report.overview()
overview

# %% [markdown]
# ## Every chapter's numbers and protocol

# %%
from IPython.display import Markdown, display

if overview.empty:
    display(Markdown("*No chapter has written results yet: run the chapters first.*"))
for chapter in overview["chapter"]:
    display(Markdown(f"### `{chapter}`"))
    with pd.option_context("display.max_colwidth", 120):
        display(vl.reproduce.report.metrics_table(chapter))
        display(vl.reproduce.report.protocol_table(chapter))
