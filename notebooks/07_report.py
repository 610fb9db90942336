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
# # Does synthetic data help a classifier of microplastic spectra?
#
# *A report of the GANsemble compendium, assembled by stage 07 from the tables, figures and
# metrics the earlier stages wrote. It computes nothing new; its HTML rendering (code hidden)
# is `reports/report.html`.*
#
# **Contents.** 1 · Question and answer · 2 · Data · 3 · Methods · 4 · Results: downstream ·
# 5 · Results: generators, filters and fidelity · 6 · Limitations · 7 · Colophon

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline/stages.py.
stage = "report"
params = None
paths = None

# %%
import json
from pathlib import Path

import pandas as pd
from IPython.display import Markdown, display

from gansemble_lib.core import progress
from gansemble_lib.pipeline.inputs import notebook_inputs
from gansemble_lib.reporting import report_document
from gansemble_lib.reporting.colophon import colophon
from gansemble_lib.reporting.results_verdicts import what_folds_show

_, paths = notebook_inputs(stage, params, paths)
tables, figures, metrics = Path(paths.tables_dir), Path(paths.figures_dir), Path(paths.metrics_dir)
downstream = json.loads((metrics / "06_downstream.json").read_text())
units = downstream["fold_names"]
first = Path(paths.folds_dir) / units[0] / "reports"
doc = report_document.Document(tables)


# %% [markdown]
# ## 1 · Question and answer
#
# Does adding synthetic spectra (the GANsemble recipe: augmentation chooser, conditional GAN,
# SYMP-Filter; class-specific VAEs; a 1-D spectrum GAN; classical baselines) to a small,
# imbalanced training set make a classifier better on real data it has never seen? Each method
# gets a verdict against training on the real data alone: *better*, *practically equivalent*
# (within ±ROPE), *worse*, or *undecided* when the units cannot tell.

# %%
display(Markdown(what_folds_show(downstream)))
display(Markdown("**Conclusion of this run.** " + downstream["conclusion"]))
verdicts = pd.read_csv(tables / "06_verdicts.csv", index_col=0)
display(Markdown(report_document.readable_verdicts(verdicts)
                 + "\n\nAll columns (t-test with Holm, minority recall, worth in real spectra): "
                   "`reports/tables/06_verdicts.md`."))
doc.figure(figures / "06_forest.png",
       "Each row's macro-F1 difference from its own baseline in every unit (dots) and the "
       "mean (marker, coloured by verdict). Look for markers outside the grey band (the region "
       "of practical equivalence) and for crosses: those rows use a generator that failed the "
       "gate, so they measure a failed generator, not synthetic data.")

# %% [markdown]
# ## 2 · Data
#
# The default data are simulated Raman spectra of ten polymer classes, calibrated on the real
# RaMPP spectra (CC BY 4.0; see CITATION.cff): band templates and nuisance (baseline, noise,
# fluorescence) fitted per polymer, so that replicates of the dataset can be drawn with fresh
# test sets. Each spectrum is rendered as a polar image (angle = wavenumber, radius =
# intensity), the input format of the GANsemble paper. The class counts below are what the
# generators and classifiers see; the grid shows polar images of each class.

# %%
doc.table("01_class_counts")
doc.figure(figures / "01_polar_grid.png",
       "Polar images of each class of the prepared dataset: the angle is the wavenumber, the "
       "radius the normalised intensity. Classes differ in where their bands sit around the "
       "circle.",
       width=480)

# %% [markdown]
# ## 3 · Methods
#
# **Pipeline.** In every unit: (02) the chooser scores the paper's image augmentations and
# label-preserving spectral ones on validation data; (03) conditional GANs and class VAEs are
# trained on the train part; (04) SYMP-Filter and a stronger filter pick samples; (05) fidelity
# (FID/KID/IS/precision-recall, chemical validity, memorisation) against the unit's real test
# part; (06) one classifier per row, trained on real data plus one method's data, scored on
# the real test part. The test part is read only by the final scoring, which a run-time check
# enforces.
#
# **Evaluation design.** Verdicts come from a Bayesian t-test across units with a region of
# practical equivalence (ROPE): on simulated data each unit is an independent replicate of the
# dataset with its own fresh test set; on real data the units are outer folds of repeated
# cross-validation (correlated t-test).
#
# **The generator gate.** A generator's rows only speak about synthetic data if the
# generator works:

# %%
generators = json.loads((metrics / "03_generators.json").read_text())
display(Markdown(generators["gate_rules"]))
display(Markdown(report_document.readable_gates(
    pd.read_csv(tables / "03_gate.csv", index_col=0))))

# %% [markdown]
# ## 4 · Results: downstream
#
# Per-class recall shows *where* a method changes the classifier: the minority classes are the
# ones augmentation is meant to help.

# %%
doc.figure(figures / "06_recall.png",
       "Per-class recall of every row, pooled over all units' held-out predictions. Compare "
       "each row with the real-only row in the minority columns (asterisk).", width=820)
doc.figure(figures / "06_confusion.png",
       "Confusion matrices (counts; colour: share of the true class) of real-only training, "
       "the best baseline and the best row of a generator that passed the gate, pooled over "
       "all units. Off-diagonal cells show which classes are confused.", width=820)

# %%
oracle_record = downstream.get("oracle") or {}
if oracle_record.get("simulated") and not oracle_record.get("why_not"):
    display(Markdown("**What more real data would buy.** Real-only training plus *k* fresh "
                     "simulated spectra per class (in no split of any unit); each row's "
                     "*worth* is read off this curve."))
    doc.table("06_oracle")
    doc.figure(figures / "06_learning_curve.png",
           "Macro-F1 against real spectra per class in training. A method whose score sits "
           "below the curve's first point is worth less than no extra data.", width=650)
else:
    display(Markdown("No oracle rows: " + oracle_record.get("why_not", "not recorded.")))
spectrum_table = tables / "06_spectrum_classifiers.md"
if spectrum_table.is_file():
    display(Markdown("**The classifier a chemist would use.** Logistic regression, a 1-D CNN "
                     "and correlation 1-NN on the spectra, each with synthetic spectra "
                     "against itself on real spectra only."))
    doc.table("06_spectrum_classifiers")
    display(Markdown(downstream["spectrum_classifiers"]["conclusion"]))

# %% [markdown]
# ## 5 · Results: generators, filters and fidelity
#
# What each generator draws (one row per class, the same noise in every row: identical rows
# mean the label is ignored), what each filter kept, and how close the sets are to real data
# (mean ± sd across units; columns ending in `_null` are the real-vs-real null).

# %%
for grid in sorted((figures / "first_unit").glob("03*_samples.png")):
    doc.figure(grid, f"Samples of `{grid.stem.removeprefix('03_').removesuffix('_samples')}` "
                 f"(unit {units[0]}), one row per class.", width=560)
doc.table("03_generators")
doc.table("04_filter_folds")
doc.table("05_fidelity_folds")
if (tables / "05b_paper_table.md").is_file() and "not run" not in \
        (tables / "05b_paper_table.md").read_text():
    display(Markdown("**The paper's baseline table in its layout** (stage 05b, first unit): "
                     "MPcGAN on five training sets, FID and IS without and with SYMP-Filter, "
                     "each generator's gate beside it."))
    doc.table("05b_paper_table")

# %% [markdown]
# ## 6 · Limitations
#
# * The default data are simulated: a verdict on them says what happens when the simulator
#   is the truth. The RaMPP and shapes result sets (RESULTS.md) repeat the run on real spectra
#   and on images.
# * The smallest effect a verdict can decide shrinks only as 1/√(units): see the
#   `smallest_decidable` column. *Undecided* is a statement about this design, not about the
#   methods.
# * Rows of a generator that failed the gate are shown, never averaged into a conclusion.
# * The domain extractor's FID is comparable only within this run; FID in the literature's
#   units needs the standard network (`make inception`).
# * Training results differ in the last digits between CPUs; `make verify` checks a rerun
#   against these numbers with tolerances.

# %% [markdown]
# ## 7 · Colophon

# %%
fidelity = json.loads((metrics / "05_fidelity.json").read_text())
extractor = fidelity.get("extractor") or {}
extractor_text = (f"{extractor.get('name')} (sha256 {extractor.get('weights_sha256')})"
                  if isinstance(extractor, dict) else str(extractor))
display(Markdown("\n".join(f"- **{k}**: {v}"
                           for k, v in colophon(extractor=extractor_text).items())))
progress.summary(
    f"report of {len(list(metrics.glob('*.json')))} metrics files, {doc.figures} figures; "
    "its HTML rendering is reports/report.html")
