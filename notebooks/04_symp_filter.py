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
# # 04 · SYMP-Filter
#
# GANsemble does not add every generated image to the training data: its SYMP-Filter draws a
# pool per class, scores each image by its "density" and keeps the few best. Here every
# source (the trained generators, ordinary augmentation and SMOTE on spectra) is filtered
# three ways **on the same pools**, so the filters differ only in which images they keep:
#
# * `none` — the first `keep` images of each pool (a random subset: the control);
# * `symp` — the paper's density ranking (density = ink, see
#   `gansemble_lib/evaluation/symp_filter.py`);
# * `strong` — a classifier of the real train split must recognise the conditioned class,
#   and near-copies of training images and off-manifold outliers are rejected.
#
# Every rejection is counted with its reason. The test split is not read here.
#
# **What to look for.** How many images each filter rejects and why, and whether `symp` keeps
# anything that `none` (a random subset of the same pool) would not: if the two downstream
# rows agree, the paper's density ranking did no work. A filter that keeps nothing for a class
# is reported as such, not skipped.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline/stages.py.
stage = "symp_filter"
params = None
paths = None

# %%
import time

import matplotlib.pyplot as plt

from gansemble_lib.core import figures, progress
from gansemble_lib.core.constants import CLASS_INDEX, TRAIN, VAL
from gansemble_lib.core.io_utils import atomic_dir, write_json
from gansemble_lib.core.numerics import resolve_device
from gansemble_lib.core.params_io import borrowed_section
from gansemble_lib.core.tables import save_table
from gansemble_lib.data.dataset import load_prepared
from gansemble_lib.evaluation import filter_sets as fsets
from gansemble_lib.evaluation import filter_summary as fsum
from gansemble_lib.evaluation import symp_filter as sf
from gansemble_lib.evaluation.classifiers import classification_scores, predict, to_tensor
from gansemble_lib.generators import sources
from gansemble_lib.pipeline.inputs import notebook_inputs

started = time.perf_counter()
params, paths = notebook_inputs(stage, params, paths)
sf.check_budget(pool_size=params.pool_size, keep=params.keep)
torch_device = resolve_device(paths.device)
data = load_prepared(paths.prepared_dir)
train, val = data.subset(TRAIN), data.subset(VAL)
named = sources.load_sources(paths.generators, data, augmented_dir=paths.augmented_dir,
                             smote_neighbors=params.smote_neighbors,
                             bounds=borrowed_section("spectral_augment", paths),
                             device=str(torch_device))
print(f"{len(named)} sources: {', '.join(named)}; per class {params.rounds} pools of "
      f"{params.pool_size}, each filter keeps at most {params.keep} per pool "
      f"({params.keep * params.rounds} per class)")

# %% [markdown]
# ## The strong filter's judge and thresholds
# The classifier sees only the real **train** split; its validation accuracy says how far its
# confidence can be trusted. Thresholds come from real data: a near-copy is closer to a
# training image than the `copy_quantile` quantile of train-to-train nearest-neighbour
# distances (in pixels, downsampled: `gansemble_lib/evaluation/neighbours.py`); an outlier is
# farther from
# every training image than the `outlier_quantile` quantile of validation-to-train distances in
# the judge's own feature space (the input of its last layer). Pixels are the right space for
# copies but the wrong one for outliers: a polar curve moved by a few pixels is as far from its
# source as an unrelated curve.

# %%
judge = sf.train_domain_classifier(
    train.images, train.labels, n_classes=len(data.classes), name=params.classifier,
    size=params.classifier_size, epochs=params.epochs, batch_size=params.batch_size,
    lr=params.lr, seed=params.seed, device=torch_device)
judge_scores = classification_scores(
    val.labels, predict(judge, to_tensor(val.images, params.classifier_size), device=torch_device),
    len(data.classes))
checks = sf.build_checks(judge, train.images, val.images, size=params.classifier_size,
                         tau=params.tau, copy_quantile=params.copy_quantile,
                         outlier_quantile=params.outlier_quantile, device=torch_device)
print(f"judge ({params.classifier}) on validation: accuracy {judge_scores['accuracy']:.3f}, "
      f"macro-F1 {judge_scores['macro_f1']:.3f}; near-copy below {checks.copy_threshold:.3f}, "
      f"outlier above {checks.outlier_threshold:.3f}")

# %% [markdown]
# ## Filtering every source
# Each source's filtered sets go to `data/synthetic/<source>__<filter>.npz` (images and class
# indices), listed in `data/synthetic/index.csv`, with every pooled image's fate under each filter
# in `<source>__decisions.csv`; grids show kept and rejected images.

# %%
summaries, index_rows = {}, []
with atomic_dir(paths.synthetic_dir) as out, atomic_dir(paths.figures_dir) as figure_out:
    for name, generator in named.items():
        tick = time.perf_counter()
        pool = sf.draw_pool(generator, n_classes=len(data.classes), pool_size=params.pool_size,
                            rounds=params.rounds, seed=params.seed)
        results = sf.apply_filters(pool, checks, keep=params.keep, region=params.region,
                                   corner_fraction=params.corner_fraction,
                                   direction=params.direction)
        index_rows += fsets.save_filtered_sets(out, name, pool, results, data.classes)
        summaries.update({(name, f): fsum.summarise(t, data.classes) for f, t in results.items()})
        for filter_name in ("symp", "strong"):
            rows = fsum.kept_rejected_rows(pool, results[filter_name], data.classes,
                                         per_row=params.grid_per_class)
            figures.save_figure(figures.example_rows(rows),
                                figure_out / f"{name}__{filter_name}.png")
            plt.close("all")
        print(f"{name}: {len(pool.labels)} pooled in {time.perf_counter() - tick:.1f} s")
    fsets.write_index(out, index_rows)

# %%
summary = fsum.summary_table(summaries)
save_table(summary, paths.tables_dir, "04_filter_summary", digits=0)
totals = summary.xs(fsum.TOTAL_INDEX, level=CLASS_INDEX)
totals

# %% [markdown]
# Kept and rejected examples of the first classes, for the last source filtered by SYMP (all
# grids are in the figures folder):

# %%
print(f"source: {name}")
figures.example_rows(fsum.kept_rejected_rows(pool, results["symp"], data.classes,
                                           per_row=params.grid_per_class))

# %%
record = {
    "judge": {"classifier": params.classifier, "validation": judge_scores},
    "thresholds": {"near_copy": checks.copy_threshold, "outlier": checks.outlier_threshold,
                   "tau": params.tau},
    **fsum.counts_record(totals),
}
write_json(paths.metrics_path, record)
progress.summary(fsum.stage_summary(record))
