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
from gansemble_lib.readme_results import render_dataset, what_folds_show

_, paths = notebook_inputs(stage, params, paths)
tables, figures, metrics = Path(paths.tables_dir), Path(paths.figures_dir), Path(paths.metrics_dir)
downstream = json.loads((metrics / "06_downstream.json").read_text())
first = Path(paths.folds_dir) / downstream["fold_names"][0] / "reports"
display(Markdown("\n".join(render_dataset(metrics))))
display(Markdown(what_folds_show(downstream)))

# ## 1 · The data and its imbalance

# %%
display(Markdown((tables / "01_class_counts.md").read_text()))
display(Image(str(figures / "01_polar_grid.png"), width=420))

# ## 2 · The augmentation each fold's chooser picked
# The heat map is the first fold's search; the table lists every fold's pick.

# %%
display(Markdown((tables / "02_choices.md").read_text()))
display(Image(str(first / "figures" / "02_chooser_heatmap.png"), width=600))

# Which strategies keep the label? A polar image's angle is the wavenumber: turning, flipping
# or rolling it moves bands to other wavenumbers. The paper's strategies are kept as they were;
# the spectral family (16-18) changes the spectrum as real measurements of one material differ.

# %%
display(Markdown((first / "tables" / "02_strategy_meaning.md").read_text()))

# ## 3 · Generators, filters and fidelity
# Mean ± sd across folds. Fidelity columns ending in `_null` are the real-vs-real null: the
# same metric for as many real train images against the same held-out samples.

# %%
generators = json.loads((metrics / "03_generators.json").read_text())
display(Markdown("**The generator gate.** " + generators["gate_rules"]))
display(Markdown((tables / "03_gate.md").read_text()))
display(Markdown((tables / "03_generators.md").read_text()))
display(Markdown((tables / "04_filter_folds.md").read_text()))
display(Markdown((tables / "05_fidelity_folds.md").read_text()))

# The paper's baseline table in the paper's layout (stage 05b, first fold): MPcGAN on the data
# as given, random resampling and this run's chooser's top three strategies; FID and IS
# without and with SYMP-Filter, with the extractor named and each generator's gate beside it.

# %%
display(Markdown((tables / "05b_paper_table.md").read_text()))

# ## 4 · Downstream: verdicts across the outer folds

# %%
display(Markdown((tables / "06_verdicts.md").read_text()))
display(Image(str(figures / "06_forest.png"), width=750))
display(Image(str(figures / "06_recall.png"), width=800))
print(downstream["conclusion"])

# What more real data would buy (simulated data only): real-only training + k fresh simulated
# spectra per class (in no split of any fold), the learning curve, and every image row scored
# on a large fresh simulated test set.

# %%
oracle_record = downstream.get("oracle") or {}
if oracle_record.get("simulated") and not oracle_record.get("why_not"):
    for name in ("06_oracle", "06_learning_curve", "06_simulated_test"):
        display(Markdown((tables / f"{name}.md").read_text()))
    display(Image(str(figures / "06_learning_curve.png"), width=650))
else:
    print("no oracle rows:", oracle_record.get("why_not", "not recorded by this run"))

# Does synthetic data help the classifier a chemist would use? Logistic regression and a small
# 1-D CNN on the spectra, each against itself trained on real spectra only.

# %%
spectrum_table = tables / "06_spectrum_classifiers.md"
if spectrum_table.is_file():
    display(Markdown(spectrum_table.read_text()))
    print(downstream["spectrum_classifiers"]["conclusion"])

# ## Colophon

# %%
fidelity = json.loads((metrics / "05_fidelity.json").read_text())
extractor = str(fidelity.get("extractor", "see 05_fidelity.json"))
display(Markdown("\n".join(f"- **{k}**: {v}" for k, v in colophon(extractor=extractor).items())))
progress.summary(
    f"report of {len(list(metrics.glob('*.json')))} metrics files; its HTML rendering is "
    "reports/report.html")
