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
# # 02 · Choose the augmentation
#
# The GANsemble data chooser, done so that it can be rerun and checked: every strategy (the
# paper's four base augmentations and all 15 combinations, plus `none`) at every oversampling
# size N tops each class of the **train** split up to N images, a LeNet-style classifier is
# trained on the result and scored on the **validation** split, over several seeds. A written
# rule, not a hand pick, chooses the winner. The test split is not read here.
#
# **Why and what to look for.** GANsemble trains its generator on the chooser's pick, so the
# pick decides what the generator imitates. Read the heatmap against the noise: with one seed
# per candidate, strategies within a few hundredths of macro-F1 of each other are not
# distinguishable, and the rule's pick among them is close to arbitrary. Image strategies
# (rotation, flips, masking) may change what a polar curve means; the spectral ones (16–18)
# keep the label by construction.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline/stages.py.
stage = "choose"
params = None
paths = None

# %%
import time

import numpy as np
import pandas as pd

from gansemble_lib.augment.images import (
    BASE_STRATEGIES,
    augment,
    meaning_table,
    oversample,
    strategy_name,
)
from gansemble_lib.augment.spectra import SpectralSource
from gansemble_lib.core import figures, progress
from gansemble_lib.core.constants import SAMPLE_ID, TRAIN, VAL
from gansemble_lib.core.io_utils import write_json
from gansemble_lib.core.params_io import borrowed_section
from gansemble_lib.core.tables import save_table
from gansemble_lib.data.dataset import load_prepared
from gansemble_lib.evaluation import chooser
from gansemble_lib.evaluation.classifiers import budget_statement
from gansemble_lib.pipeline.inputs import notebook_inputs

params, paths = notebook_inputs(stage, params, paths)
data = load_prepared(paths.prepared_dir)
train, val = data.subset(TRAIN), data.subset(VAL)
bounds = borrowed_section("spectral_augment", paths)  # how far a spectral augmentation may go
source = SpectralSource.of(data, train, bounds)  # None for image data: no spectral strategies
print(f"train {len(train.labels)} images, validation {len(val.labels)}, "
      f"{len(data.classes)} classes; {len(params.strategies)} strategies x N in {params.n_grid} "
      f"x {params.repeats} repeats")
print("budget:", budget_statement(params.steps, params.epochs, params.batch_size))

# %% [markdown]
# ## The four base strategies
# Magnitudes are the paper's, expressed as fractions of the image width (see
# `gansemble_lib/augment/images.py`), so they mean the same at this size as on the paper's
# 1167-pixel images.

# %%
first_of_class = [np.flatnonzero(train.labels == k)[0] for k in range(min(6, len(data.classes)))]
examples = train.images[first_of_class]
rows = {"original": examples}
rows.update({f"{k}: {name}": augment(examples, k, seed=params.seed)
             for k, (name, _) in BASE_STRATEGIES.items()})
if source is not None:  # the spectral family, applied to the spectra of the same images
    rows.update({strategy_name(k): oversample(
        examples, np.arange(len(examples)), target=2, strategy=k, seed=params.seed,
        source=SpectralSource(source.spectra[first_of_class], source.axis, source.render,
                              bounds))[0][
        len(examples):] for k in (16,)})  # mixup needs two spectra of a class: in the grids
fig = figures.example_rows(rows)
figures.save_figure(fig, f"{paths.figures_dir}/02_strategy_examples.png")

# %% [markdown]
# ## Which strategies keep the label?
# A polar image's angle is the wavenumber and its radius the intensity. A strategy that turns,
# flips or rolls the picture moves bands to other wavenumbers: the augmented image is no longer
# a spectrum of the labelled polymer. The paper's strategies are kept as they were (faithful);
# the spectral family changes the spectrum the way real measurements of one material differ
# and renders it afterwards.

# %%
meaning = pd.DataFrame(meaning_table())
save_table(meaning.set_index("strategy"), paths.tables_dir, "02_strategy_meaning")
meaning

# %% [markdown]
# ## The search

# %%
started = time.perf_counter()
runs = chooser.run_search(train.images, train.labels, val.images, val.labels, params=params,
                          n_classes=len(data.classes), source=source, device=paths.device)
elapsed = time.perf_counter() - started
failed = runs[runs[chooser.STATUS] != chooser.OK]
print(f"{len(runs)} runs in {elapsed:.0f} s ({elapsed / len(runs):.2f} s per run); "
      f"{len(failed)} failed")
failed

# %%
summary = chooser.summarise(runs)
save_table(runs.set_index([chooser.STRATEGY, chooser.N, chooser.REPEAT]), paths.tables_dir,
           "02_chooser_runs")
save_table(summary.set_index([chooser.STRATEGY, chooser.N]), paths.tables_dir, "02_chooser_scores")
summary.sort_values(f"{params.select_metric}_mean", ascending=False).head(10)

# %% [markdown]
# ## The choice and how sure we can be

# %%
chosen = chooser.select(summary, metric=params.select_metric,
                        tie_tolerance=params.tie_tolerance)
print(chooser.certainty_statement(summary, chosen, metric=params.select_metric))
chooser.overlapping(summary, chosen, metric=params.select_metric)

# %%
fig = figures.chooser_heatmap(summary, metric=params.select_metric)
figures.save_figure(fig, f"{paths.figures_dir}/02_chooser_heatmap.png")
fig = figures.chooser_bars(summary, metric=params.select_metric, chosen=chosen)
figures.save_figure(fig, f"{paths.figures_dir}/02_chooser_bars.png")

# %% [markdown]
# ## The augmented training set for the generators
# The chosen strategy applied to the train split, each class topped up to the chosen N.

# %%
record = chooser.chosen_record(chosen, summary, params)
images, manifest = chooser.augmented_training_set(
    train.images, train.labels, train.manifest[SAMPLE_ID].to_numpy(),
    strategy=record["strategy"], n=record["n"], seed=params.seed, source=source)
chooser.save_augmented_set(paths.augmented_dir, images, manifest, record)
write_json(paths.chosen_path, record)
progress.summary(
    f"chose {record['name']} at N = {record['n']} of {record['candidates']} candidates "
    f"(validation macro-F1 {record['scores']['macro_f1_mean']:.3f}; "
    f"{'keeps' if record['keeps_label'] else 'changes'} the meaning of a polar spectrum)"
    + (f"; {record['failed_candidates']} candidate(s) FAILED and were skipped "
       "(choose.skip_failed)" if record["failed_candidates"] else ""))
if record[chooser.SPECTRAL]:
    print("best label-preserving spectral candidate:", record[chooser.SPECTRAL])
fig = figures.image_grid(images[manifest["origin"].to_numpy() == "augmented"],
                         manifest.loc[manifest["origin"] == "augmented", "class_index"].to_numpy(),
                         data.classes, per_class=4, seed=params.seed)
figures.save_figure(fig, f"{paths.figures_dir}/02_augmented_examples.png")
manifest.groupby(["class_index", "origin"]).size().unstack(fill_value=0)
