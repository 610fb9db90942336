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
# # 03b · Train the class VAEs
#
# The second paper's generator (De La Fuente et al. 2024): one variational autoencoder per
# class, trained on that class's **train** images only. A new image of a class is decoded
# from a mix `z = (1 − α)·z1 + α·z2` of the posterior means of two distinct real train images
# of the class, with α uniform in [`alpha_min`, `alpha_max`] and the pair drawn uniformly.
# Plain prior sampling is shown for comparison. The validation split is only used to measure
# reconstruction error; the test split is not read here.
#
# The checkpoint (`models/vae/vae.pt`) holds every class's VAE. It is rewritten after each
# class and every `checkpoint_every` epochs, so an interrupted run resumes where it stopped.
#
# **What to look for.** Interpolations that look like their class without being copies of one
# train image. A class with very few train images offers few pairs to interpolate between, so
# its samples sit close to the originals; stage 05's memorisation check measures that.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline/stages.py.
stage = "train_vae"
params = None
paths = None

# %%
import time

started = time.perf_counter()

import dataclasses

import numpy as np
import pandas as pd

from gansemble_lib.core import figures, progress
from gansemble_lib.core.constants import TRAIN, VAL
from gansemble_lib.core.io_utils import write_json
from gansemble_lib.core.params_io import borrowed_section
from gansemble_lib.data.dataset import load_prepared
from gansemble_lib.evaluation import cgan_stage, gate
from gansemble_lib.generators import vae, vae_training
from gansemble_lib.pipeline.inputs import notebook_inputs

params, paths = notebook_inputs(stage, params, paths)
GATE_SAMPLES_PER_CLASS = 20  # as stage 03's eval_per_class default: the same gate sample size
data = load_prepared(paths.prepared_dir)
train, val = data.subset(TRAIN), data.subset(VAL)
print(f"train {len(train.labels)} images, validation {len(val.labels)}, "
      f"{len(data.classes)} classes, images {tuple(train.images.shape[1:])}")
print("train images per class:", dict(zip(data.classes, np.bincount(
    train.labels, minlength=len(data.classes)).tolist(), strict=True)))

# %% [markdown]
# ## Training
# The KL weight rises linearly from 0 to `beta` over the first `kl_warmup` epochs, so each
# VAE first learns to reconstruct and only then is pulled towards the prior.

# %%
result = vae_training.train_class_vaes(train.images, train.labels, data.classes, params=params,
                                       checkpoint_path=f"{paths.models_dir}/vae.pt",
                                       device=paths.device)
generator = result.ensemble
result.losses.write(paths.plots_path)
print(f"{result.status}; training time {result.train_seconds:.1f} s")
if generator.single_image_classes:
    print("one train image, so no interpolation (posterior samples instead):",
          [data.classes[k] for k in generator.single_image_classes])

# %%
fig = figures.vae_loss_curves(pd.DataFrame(result.losses.rows), data.classes)
figures.save_figure(fig, f"{paths.figures_dir}/03b_losses.png")

# %% [markdown]
# ## Reconstructions
# Each image is encoded to its posterior mean and decoded by its class's VAE. The error is the
# mean squared difference in [0, 1] pixel units; `mean_image_mse` is the error of predicting
# every image by its class's mean train image, a reference the VAE should beat. Validation
# images were never seen in training.

# %%
table = vae_training.reconstruction_table(generator, {TRAIN: (train.images, train.labels),
                                                      VAL: (val.images, val.labels)})
table.pivot(index="class", columns="split",
            values=[vae_training.VAE_MSE, vae_training.MEAN_IMAGE_MSE]).loc[list(data.classes)]

# %%
fig = figures.reconstruction_pairs(train.images, generator.reconstruct(train.images, train.labels),
                                   train.labels, data.classes, per_class=4)
figures.save_figure(fig, f"{paths.figures_dir}/03b_reconstructions_train.png")
fig = figures.reconstruction_pairs(val.images, generator.reconstruct(val.images, val.labels),
                                   val.labels, data.classes, per_class=3)
figures.save_figure(fig, f"{paths.figures_dir}/03b_reconstructions_val.png")

# %% [markdown]
# ## Interpolation between two train images of a class
# One random pair per class; α = 0 and α = 1 are the two images' reconstructions, the real
# images frame the strip.

# %%
strips = vae.interpolation_examples(generator, train.images, train.labels,
                                    np.linspace(0, 1, 7), seed=params.seed)
fig = figures.interpolation_strips(strips, np.linspace(0, 1, 7))
figures.save_figure(fig, f"{paths.figures_dir}/03b_interpolation.png")

# %% [markdown]
# ## Samples per class
# What later stages receive from `generate(class_index, n, seed)`: interpolation with α in
# [`alpha_min`, `alpha_max`] (or the setting of `sampling`), then, for comparison, plain
# samples from the prior N(0, I) through the same decoders.

# %%
samples = np.stack([generator.generate(k, 8, seed=params.seed)
                    for k in range(len(data.classes))])
fig = figures.class_sample_grid(samples, data.classes,
                                title=f"sampling: {params.sampling}, α in "
                                      f"[{params.alpha_min}, {params.alpha_max}]")
figures.save_figure(fig, f"{paths.figures_dir}/03b_samples.png")
prior = dataclasses.replace(generator, sampling=vae.PRIOR)
fig = figures.class_sample_grid(np.stack([prior.generate(k, 8, seed=params.seed)
                                          for k in range(len(data.classes))]), data.classes,
                                title="sampling: prior N(0, I)")
figures.save_figure(fig, f"{paths.figures_dir}/03b_prior_samples.png")

# %% [markdown]
# ## The gate: did the VAEs learn their classes, and their variety?
# The same check, with the same margins (params.yaml's `gate` section), as every cGAN of stage
# 03 (`gansemble_lib/evaluation/gate.py`): validity of the
# samples
# against a label-shuffled null and real validation data, and within-class diversity.

# %%
margins = borrowed_section("gate", paths)
gate_result = cgan_stage.sample_gate(generator, data, per_class=GATE_SAMPLES_PER_CLASS,
                                     margins=margins, seed=params.seed)
print(gate.rules(margins))
print(gate.statement("vae", gate_result))

# %% [markdown]
# ## Metrics

# %%
record = vae_training.metrics_record(
    table, train_seconds=result.train_seconds, stage_seconds=time.perf_counter() - started,
    status=result.status,
    single_image_classes=[data.classes[k] for k in generator.single_image_classes])
record[cgan_stage.GATE] = gate_result
write_json(paths.metrics_path, record)
progress.summary(
    f"{len(data.classes)} class VAEs ({record['training']}), validation reconstruction "
    f"MSE {record['reconstruction_mse_class_mean']['val']:.4f} (the class-mean image: "
    f"{record['mean_image_mse_class_mean']['val']:.4f})")
record
