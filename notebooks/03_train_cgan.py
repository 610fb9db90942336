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
# # 03 · Train a conditional generator
#
# One variant per run (dvc.yaml runs them all): the **MPcGAN** port of the GANsemble paper,
# a **modern** cGAN (hinge loss, spectral norm, projection discriminator, DiffAugment, weight
# average), or a **spectrum** GAN that learns the 1-D spectra and draws its samples with the
# same polar renderer as the data. Image GANs train on the real train split (`train`) or on
# the chooser's augmented set (`augmented`). Training resumes from the last checkpoint when
# interrupted. The test split is not read here.
#
# **What to look for.** Whether the generator draws the class it is asked for: the gate line
# (validity clearly above the label-shuffled null and near the real reference, diversity not
# collapsed) and the sample grids, whose rows should look like different classes. Loss curves
# near equilibrium say nothing about conditioning; a generator that fails the gate is reported
# as failed and its rows downstream are marked.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline/stages.py.
stage = "train_cgan@mpcgan_aug"
params = None
paths = None

# %%
import time

import pandas as pd
from IPython.display import Image

from gansemble_lib.core import figures, progress
from gansemble_lib.core.constants import TRAIN, VAL
from gansemble_lib.core.io_utils import write_json
from gansemble_lib.core.params_io import borrowed_section
from gansemble_lib.data.dataset import load_prepared
from gansemble_lib.evaluation import cgan_stage, gan_checks, gate
from gansemble_lib.generators import cgan
from gansemble_lib.generators.cgan_models import count_parameters
from gansemble_lib.generators.gan_training import CHECKPOINT_FILE
from gansemble_lib.generators.interface import load_generator
from gansemble_lib.pipeline.inputs import notebook_inputs

started = time.perf_counter()
params, paths = notebook_inputs(stage, params, paths)
cgan_stage.check_variant(paths.architecture, paths.training_data)
data = load_prepared(paths.prepared_dir)
train, val = data.subset(TRAIN), data.subset(VAL)
prefix = f"{paths.figures_dir}/03_{paths.variant}"
print(f"variant {paths.variant}: {paths.architecture} on {paths.training_data}; "
      f"{len(data.classes)} classes, images {data.image_shape}")

# %% [markdown]
# ## Training
# Checkpoints every `checkpoint_every` steps hold the networks, optimisers, weight average,
# random-number states and the loss log: rerunning after an interruption continues from the
# last one and ends with the same weights as an uninterrupted run.

# %%
run, n_training = cgan_stage.train_variant(
    architecture=paths.architecture, training_data=paths.training_data, prepared=data,
    augmented_dir=paths.augmented_dir, params=params, model_dir=paths.model_dir,
    bounds=borrowed_section("spectral_augment", paths), device=paths.device)
run.log.write(paths.losses_path)
for note in run.notes:
    print(note)
print(cgan_stage.summary_line(paths.variant, run, n_training))

# %% [markdown]
# ## Loss curves
# For the MPcGAN (binary cross-entropy) the discriminator scores are probabilities and both
# hover near 0.5 when neither network wins; for the hinge-loss models they are raw scores.

# %%
log = pd.DataFrame(run.log.rows)
print(cgan_stage.final_losses(log))
Image(filename=figures.save_figure(figures.gan_losses(log), f"{prefix}_losses.png"))

# %% [markdown]
# ## Samples over training
# The same noise at every checkpoint, first sample of each class: rows should become
# different from each other (conditioning) and look like polar spectra (fidelity).

# %%
Image(filename=figures.save_figure(figures.training_progress(run.snapshots, data.classes),
                                   f"{prefix}_progress.png"))

# %%
generator = load_generator(f"{paths.model_dir}/{CHECKPOINT_FILE}")
grid = cgan.per_class_grid(generator, params.grid_per_class)
fig = figures.class_sample_grid(grid, data.classes, title=f"{paths.variant}, final")
Image(filename=figures.save_figure(fig, f"{prefix}_samples.png"))

# %% [markdown]
# ## Is it copying?
# Pixel-space distance of each sample to its nearest real train image, next to the distance
# of each train image to its nearest *other* train image and of each validation image to its
# nearest train image (how far new real data lie).

# %%
samples, sample_labels = cgan_stage.evaluation_samples(generator, params.eval_per_class,
                                                       seed=params.seed + 1)
near = gan_checks.nearest_real(samples, train.images, val.images, sample_labels=sample_labels,
                               train_labels=train.labels)
results = cgan_stage.checks(samples, sample_labels, data, near)
summary = results[cgan_stage.NEAREST]
shown = cgan_stage.first_of_each_class(sample_labels)
fig = figures.nearest_neighbour_panel(
    samples[shown], train.images[near.indices[shown]], near.distances[shown],
    sample_labels[shown], train.labels[near.indices[shown]], data.classes,
    reference=summary[gan_checks.TRAIN_NN_MEDIAN])
print(gan_checks.copy_statement(summary))
Image(filename=figures.save_figure(fig, f"{prefix}_nearest.png"))

# %% [markdown]
# ## The gate: did it learn its classes, and their variety?
# Validity is the share of samples a judge that knows only real train data assigns to the
# class they were generated for, next to the same share with the labels shuffled (what a
# generator that ignores its label reaches) and the share real validation data reach. Diversity
# is the within-class spread of the samples relative to real data's. The margins are
# params.yaml's `gate` section (rules: `gansemble_lib/evaluation/gate.py`); a generator that
# fails keeps its rows in stage 06, marked.

# %%
margins = borrowed_section("gate", paths)
gate_result = cgan_stage.gate_record(samples, sample_labels, data, spread_ratio=near.spread_ratio,
                                     margins=margins, seed=params.seed)
print(gate.rules(margins))
print(gate.statement(paths.variant, gate_result))

# %% [markdown]
# ## Summary
# `nearest_neighbour` repeats the copy check in numbers; `within_class_spread_ratio` compares
# how much samples of one class differ from each other with how much real ones do (near 0:
# the generator ignores its noise). The spectral check (spectra inputs only) decodes each
# sample back to a spectrum and asks whether it correlates best with the mean spectrum of
# the class it was generated for; `class_mean_match_val` is that share for real validation
# images, the level a perfect generator would reach.

# %%
metrics = cgan_stage.metrics_record(
    variant=paths.variant, architecture=paths.architecture,
    training_data=paths.training_data, run=run,
    n_training=n_training, params=params,
    generator_parameters=count_parameters(generator.network), check_results=results,
    stage_seconds=time.perf_counter() - started, gate_result=gate_result)
write_json(paths.metrics_path, metrics)
progress.summary(cgan_stage.stage_summary(metrics))
metrics
