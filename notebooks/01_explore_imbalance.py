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
# # 01 · Explore the imbalance
#
# How many samples each class has in each split, how unequal the classes are, what each
# class's spectra look like on the common axis, and what the polar images the generators will
# learn from look like. Spectra, images and pixel statistics come from the **train** split
# only; the test split is counted but never looked at.
#
# **What to look for.** The smallest class's train count: it bounds what any generator can
# learn from (a class with three train spectra gives a GAN three examples). Classes whose
# mean spectra overlap are the ones a classifier confuses, synthetic data or not. Differences in
# ink fraction between classes matter later: SYMP-Filter ranks images by ink.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline/stages.py.
stage = "explore"
params = None
paths = None

# %%
from gansemble_lib.core import figures, progress
from gansemble_lib.core.constants import TRAIN
from gansemble_lib.core.io_utils import write_json
from gansemble_lib.core.tables import save_table
from gansemble_lib.data import explore, polar
from gansemble_lib.data.dataset import load_prepared
from gansemble_lib.pipeline.inputs import notebook_inputs

params, paths = notebook_inputs(stage, params, paths)
data = load_prepared(paths.prepared_dir)
train = data.subset(TRAIN)
where = explore.data_label(data.info)
print(f"{data.info['n_samples']} {data.info['modality']} samples, {len(data.classes)} classes, "
      f"images {tuple(data.images.shape[1:])}; the train split below: {where}")

# %% [markdown]
# ## Class counts per split
# `unused` counts training samples that the imbalance profile (`prepare.imbalance_profile`,
# printed below) left out of training; they are listed, not dropped.

# %%
counts = explore.class_count_table(data.manifest, data.classes)
save_table(counts, paths.tables_dir, "01_class_counts")
print(f"profile: {data.info['params']['imbalance_profile']}")
print(f"imbalance ratio (max/min): total {explore.imbalance_ratio(counts['total']):.2f}, "
      f"train {explore.imbalance_ratio(counts[TRAIN]):.2f}")
counts

# %%
fig = figures.class_count_bar(counts, title=f"Samples per class and split: {where}")
figures.save_figure(fig, f"{paths.figures_dir}/01_class_counts.png")

# %% [markdown]
# ## Skipped at load time
# Everything the loaders left out, and why (an empty list means nothing was dropped).

# %%
data.info["skipped"]

# %% [markdown]
# ## Mean spectrum per class (train split, ±1 sd)
# For image input: the mean image and the pixel standard deviation of each class.

# %%
if data.spectra is not None:
    fig = figures.mean_spectra(data.axis, train.spectra, train.labels, data.classes,
                               title=f"Mean spectrum per class, ±1 sd, train split: {where}")
    figures.save_figure(fig, f"{paths.figures_dir}/01_mean_spectra.png")
else:
    fig = figures.mean_images(train.images, train.labels, data.classes,
                              title=f"Mean and sd image per class, train split: {where}")
    figures.save_figure(fig, f"{paths.figures_dir}/01_mean_images.png")

# %% [markdown]
# ## Polar images per class (train split)

# %%
key = (polar.key(float(data.axis[0]), float(data.axis[-1])) if data.axis is not None
       else "")
fig = figures.image_grid(train.images, train.labels, data.classes,
                         per_class=params.images_per_class, seed=params.seed,
                         title=f"Polar images per class, train split: {where}", key=key)
figures.save_figure(fig, f"{paths.figures_dir}/01_polar_grid.png")

# %% [markdown]
# ## Pixel statistics (train split)
# Ink fraction = share of pixels darker than mid-gray, i.e. how much of the image the curve
# covers. Classes with many sharp, tall peaks draw longer curves and so more ink.

# %%
stats = explore.pixel_statistics(train.images, train.labels, data.classes)
save_table(stats, paths.tables_dir, "01_pixel_stats")
fig = figures.ink_fraction_box(train.images, train.labels, data.classes,
                               title=f"Ink fraction per image, train split: {where}")
figures.save_figure(fig, f"{paths.figures_dir}/01_ink_fraction.png")
stats

# %%
metrics = explore.explore_metrics(counts, stats)
write_json(paths.metrics_path, metrics)
progress.summary(
    f"{metrics['n_samples']} {data.info['modality']} in {metrics['n_classes']} classes, "
    f"imbalance ratio {metrics['imbalance_ratio']['train']:.1f} in the train split")
metrics
