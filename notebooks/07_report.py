# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python (gansemble)
#     language: python
#     name: gansemble
# ---

# %% [markdown]
# # 07 · Report: does synthetic data help?
#
# Everything below is read from the tables, figures and metrics the earlier stages wrote; this
# notebook computes nothing new. Its HTML rendering is `reports/report.html`.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline.py.
stage = "report"
params = None
paths = None

# %%
import json
from pathlib import Path

from IPython.display import Image, Markdown, display

from gansemble_lib import progress
from gansemble_lib.colophon import colophon
from gansemble_lib.pipeline import notebook_inputs
from gansemble_lib.readme_results import render_dataset

_, paths = notebook_inputs(stage, params, paths)
tables, figures, metrics = Path(paths.tables_dir), Path(paths.figures_dir), Path(paths.metrics_dir)
display(Markdown("\n".join(render_dataset(metrics))))

# %% [markdown]
# ## 1 · The data and its imbalance

# %%
display(Markdown((tables / "01_class_counts.md").read_text()))
display(Image(str(figures / "01_polar_grid.png"), width=420))

# %% [markdown]
# ## 2 · The augmentation chosen for the generators

# %%
display(Markdown((tables / "02_chooser_scores.md").read_text()))
display(Image(str(figures / "02_chooser_heatmap.png"), width=600))

# %% [markdown]
# ## 3 · Filtering and fidelity of the synthetic images
# Lower FID/KID is closer to the real test images; the real-train-vs-test row is the floor that
# real data of this size reaches. The extractor and its weights hash are in every row.

# %%
display(Markdown((tables / "04_filter_summary.md").read_text()))
display(Markdown((tables / "05_fidelity_overall.md").read_text()))

# %% [markdown]
# ## 4 · Downstream: classifiers trained with each kind of extra data

# %%
display(Markdown((tables / "06_downstream.md").read_text()))
display(Image(str(figures / "06_forest.png"), width=700))
display(Image(str(figures / "06_recall.png"), width=800))
print(json.loads((metrics / "06_downstream.json").read_text())["conclusion"])

# %% [markdown]
# ## Colophon

# %%
fidelity = json.loads((metrics / "05_fidelity.json").read_text())
extractor = str(fidelity.get("extractor", "see 05_fidelity.json"))
display(Markdown("\n".join(f"- **{k}**: {v}" for k, v in colophon(extractor=extractor).items())))
progress.summary(
    f"report of {len(list(metrics.glob('*.json')))} metrics files; its HTML rendering is "
    "reports/report.html")
