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
#   mystnb:
#     execution_mode: force
# ---

# %% [markdown]
# # Reproduction report
#
# This page is built only from the files the chapters wrote, `results/<chapter>.json`: no number is typed in.
# When the book is built, the chapters ran at the `lite` profile on a CPU; a `full` run on a GPU
# (`python -m vidsynth_lite reproduce <chapter> --profile full`) overwrites the chapter's file, and this page
# then shows it. Every verdict below was computed by its chapter from the run's numbers: a claim is
# *reproduced* or *not reproduced* only when the paired difference over disjoint draws (or seeds) exceeds twice
# its standard deviation, *not resolved at this N* otherwise; *not testable at this profile* says why.

# %% tags=["parameters"]
profile = "lite"  # unused here: this page reads whatever the chapters wrote

# %%
import pandas as pd
from IPython.display import Markdown, display

import vidsynth_lite as vl

overview = vl.reproduce.report.overview()
display(Markdown(f"Results read from `{vl.paths.results_dir()}`."))
overview

# %% [markdown]
# ## Every claim the chapters check

# %%
claims = vl.reproduce.report.claims()
if claims.empty:
    display(Markdown("*No chapter has stored claims yet: run the chapters first.*"))
with pd.option_context("display.max_colwidth", 200):
    display(claims)

# %% [markdown]
# ## The papers' tables beside ours
#
# Each table puts the paper's number (its protocol in the column name) beside ours (our protocol in ours). They
# are printed side by side so that the protocols are never confused, not to be compared as numbers.

# %%
for chapter in overview["chapter"]:
    for table, frame in vl.reproduce.report.paper_tables(chapter):
        heading = f"### {table.name} (chapter `{chapter}`)"
        display(Markdown(heading + (f"\n\n{table.note}" if table.note else "")))
        with pd.option_context("display.max_colwidth", 120):
            display(frame)
