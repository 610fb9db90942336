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
# # 06 · Does synthetic data help a classifier?
#
# **Why this stage exists.** Fidelity scores (stage 05) say whether samples look real; only a
# classifier trained with them says whether they are *useful*. One classifier, one training
# budget, several seeds; only the training data differ between rows. Every row is tested on
# this unit's untouched real **test** part, and each row's macro-F1 difference from real-only
# training gets a paired bootstrap 95 % interval (seeds and test images resampled together).
#
# That interval describes **this unit only**: it cannot say whether a method helps in general,
# because it ignores how much the result depends on which data were drawn. The verdicts
# (better / equivalent / worse / undecided) are made across units in stage 06b. Here, look for
# rows whose interval is far from the others, and in the figures for classes whose recall a
# row changes.
#
# The budget is a fixed number of optimiser steps (`steps`), not epochs: with a fixed number of
# epochs, a row that adds 400 images also gets several times more gradient steps than real-only
# training, and on a small train split the extra steps alone can look like a gain from the data.
# `steps: 0` restores the paper's epoch budget.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline/stages.py.
stage = "downstream"
params = None
paths = None

# %%
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gansemble_lib.augment.spectra import SpectralSource
from gansemble_lib.core import applicability, progress
from gansemble_lib.core.constants import SAMPLE_ID, TRAIN
from gansemble_lib.core.figures import save_figure
from gansemble_lib.core.io_utils import write_json, write_text
from gansemble_lib.core.numerics import resolve_device
from gansemble_lib.core.params_io import borrowed_section
from gansemble_lib.core.tables import save_table
from gansemble_lib.data.dataset import geometry_from_info, load_prepared
from gansemble_lib.data.simulate import FRESH_START
from gansemble_lib.evaluation import downstream as ds
from gansemble_lib.evaluation import downstream_scores as scoring
from gansemble_lib.evaluation import oracle, worth
from gansemble_lib.evaluation import rows as row_kinds
from gansemble_lib.evaluation import spectrum_rows as spectra_rows
from gansemble_lib.evaluation.classifiers import TrainSettings, budget_statement
from gansemble_lib.evaluation.filter_sets import load_set_spectra, load_sets
from gansemble_lib.evaluation.rows import AUGMENTATION_ROW, REAL_ONLY
from gansemble_lib.pipeline.inputs import notebook_inputs
from gansemble_lib.reporting import report_figures

params, paths = notebook_inputs(stage, params, paths)
data = load_prepared(paths.prepared_dir)
train = data.subset(TRAIN)
test = data.test_for_evaluation()  # evaluation only: nothing below trains or selects on it
n_classes = len(data.classes)
chosen = json.loads(open(f"{paths.augmented_dir}/chosen.json", encoding="utf-8").read())
sets = load_sets(paths.synthetic_dir, data.classes)
rows = ds.build_rows(sets, train.labels, chosen=chosen, n_classes=n_classes,
                     tstr_source=params.tstr_source, combo_sources=params.combo_sources)
emptied = ds.empty_sets(sets)
print("sets a filter left empty (no row):", ", ".join(emptied) or "none")

# %% [markdown]
# ## What only a simulator can do
# When the data come from the simulator, it draws fresh "real" spectra that are in no split of
# any fold: **oracle rows** (real-only + k of them per class), the points of a **learning
# curve** for real-only training, the best baseline (the chooser's pick) and the best generator
# (highest held-in gate validity among those that passed), and a large **fresh test set** that
# every image row is also scored on. On real data none of this exists, and the record says so.

# %%
oracle_record = {"simulated": oracle.simulation_of(data.info) is not None}
also_test, also_scores = None, []
if oracle_record["simulated"]:
    # drawn under this unit's seed: every fold or replicate gets its own oracle spectra
    fresh = oracle.fresh_set(data, max(params.oracle_k), first=FRESH_START, seed=params.seed)
    # the run-time proof that the oracle's spectra are new: none repeats a spectrum of the
    # dataset, in whatever split or fold (the array is only compared, never learnt from)
    oracle.check_unseen(fresh.spectra, data.spectra, what="the dataset")
    generators = sorted({source for source, _ in sets if source not in ds.BASELINE_SOURCES})
    best, why = oracle.best_generator(Path(paths.metrics_path).parent, generators)
    rows += oracle.rows(fresh, params.oracle_k, chosen=chosen,
                        generator_set=sets.get((best, "none")) if best else None,
                        curves=params.oracle_curves)
    oracle_record.update(k=list(params.oracle_k), fresh_per_class=fresh.per_class,
                         best_baseline=f"{AUGMENTATION_ROW}: {chosen['name']}",
                         best_generator=best, best_generator_why=why)
    if data.info.get("design") == "replicates":  # the test part is a fresh set already
        oracle_record["test_part_is_fresh"] = True
    elif params.simulated_test_per_class:
        big = oracle.fresh_set(data, params.simulated_test_per_class, first=oracle.TEST_START,
                               seed=params.seed)
        oracle.check_unseen(big.spectra, np.vstack([data.spectra, fresh.spectra]),
                            what="the dataset or the oracle's training spectra")
        also_test = (big.images, big.labels)
        oracle_record["simulated_test_spectra"] = len(big.labels)
    print(f"oracle: + {', '.join(map(str, params.oracle_k))} fresh spectra per class; best "
          f"generator: {why}; fresh test set: {oracle_record.get('simulated_test_spectra', 0)}")
else:
    oracle_record["why_not"] = worth.NOT_SIMULATED
    print(worth.NOT_SIMULATED)
run_seeds = list(range(params.seed, params.seed + params.seeds))
print(f"{len(rows)} rows x {len(run_seeds)} seeds; train {len(train.labels)}, "
      f"test {len(test.labels)} real images; classifier {params.classifier}")

# %%
started = time.perf_counter()
settings = TrainSettings(epochs=params.epochs, batch_size=params.batch_size, lr=params.lr,
                         steps=params.steps)
predictions = ds.run_rows(rows, train.images, train.labels, test.images, test.labels,
                          seeds=run_seeds, classifier=params.classifier,
                          size=params.classifier_size, settings=settings, n_classes=n_classes,
                          device=resolve_device(paths.device),
                          weights_path=params.resnet18_weights or None,
                          source=SpectralSource.of(data, train,
                                                   borrowed_section("spectral_augment", paths)),
                          also_test=also_test,
                          also_scores=also_scores)
if train.spectra is not None:  # the classifiers a chemist would use, on real + synthetic spectra
    extra, undecodable, extra_origin = spectra_rows.spectrum_extra_sets(
        sets, load_set_spectra(paths.synthetic_dir), geometry=geometry_from_info(data.info),
        points=train.spectra.shape[1], combo_sources=params.combo_sources)
    print("synthetic spectra for the spectrum classifiers:",
          {name: len(y) for name, (_, y) in extra.items()})
    print("images without ink, left out (nothing to read back):", undecodable or "none")
    predictions = pd.concat([predictions, spectra_rows.spectrum_classifier_rows(
        train.spectra, train.labels, test.spectra, test.labels, seeds=run_seeds, extra=extra,
        settings=settings, n_classes=n_classes, device=resolve_device(paths.device))],
        ignore_index=True)
print(f"trained {len(rows) * len(run_seeds)} classifiers in {time.perf_counter() - started:.0f} s")
# what every row is, created with the row: the later stages read these fields, never the names
records = {r.name: r.info for r in rows}
if train.spectra is not None:
    records.update({r.name: r for r in spectra_rows.spectrum_records(extra_origin)})
synthetic_rows = row_kinds.generated_rows(records)
# Kept for the across-fold stage: one line per (row, seed, held-out sample of this fold).
scoring.save_predictions(predictions, test.manifest[SAMPLE_ID].to_numpy(), paths.predictions_path)

# %% [markdown]
# ## Scores (mean ± sd over seeds) and differences from real-only

# %%
scores = scoring.scores(predictions, n_classes)
differences = scoring.paired_bootstrap(predictions, n_classes=n_classes, n_boot=params.bootstrap,
                                  seed=params.seed)
table = applicability.mark_not_applicable(scores.join(differences), row_kinds.spectra_only_rows(),
                                          modality=data.info["modality"])
save_table(table, paths.tables_dir, "06_downstream")
write_text(f"{paths.tables_dir}/06_downstream.tex", table.to_latex(float_format="%.3f"))
simulated_test = oracle.simulated_test_table(also_scores)
save_table(simulated_test, paths.tables_dir, "06_simulated_test")
table

# %%
counts = np.bincount(train.labels, minlength=n_classes)
minority = [c for c, n in zip(data.classes, counts, strict=True) if n < np.median(counts)]
recall = scoring.per_class_recall(predictions, data.classes)
save_table(recall, paths.tables_dir, "06_per_class_recall")
print("minority classes (train count below the median):", ", ".join(minority))
save_figure(report_figures.forest_plot(differences, baseline=REAL_ONLY),
            f"{paths.figures_dir}/06_forest.png")
unit_title = f"this unit's held-out test part ({getattr(paths, 'fold', None) or 'one split'})"
save_figure(report_figures.recall_heatmap(recall, minority=minority, failed_rows={},
                                          title=f"Per-class recall on {unit_title}"),
            f"{paths.figures_dir}/06_recall.png")
save_figure(report_figures.confusion_grid(
    predictions, data.classes, {REAL_ONLY: "real data only",
                                **{r: "with synthetic data" for r in synthetic_rows[:2]}},
    title=f"Confusion matrices on {unit_title}"), f"{paths.figures_dir}/06_confusion.png")

# %% [markdown]
# ## Conclusion

# %%
classical = row_kinds.baseline_rows(records)  # oracle rows aside: more real data is not a method
statement = scoring.conclusion(differences, synthetic_rows=synthetic_rows, baseline_rows=classical)
print(statement)
budget = budget_statement(params.steps, params.epochs, params.batch_size)
print("budget:", budget)
write_json(paths.metrics_path, scoring.metrics_record(
    table, statement, minority=minority, seeds=run_seeds, classifier=params.classifier,
    emptied=emptied, budget=budget) | {
        "row_records": row_kinds.to_json(records), "oracle": oracle_record, "simulated_test": {
            "spectra": oracle_record.get("simulated_test_spectra", 0),
            "rows": {row: {"macro_f1": float(line["macro_f1"]), "diff": float(line["diff"])}
                     for row, line in simulated_test.iterrows()}}})
progress.summary(scoring.stage_summary(table))
