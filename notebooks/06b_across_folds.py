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
# # 06b · Across the outer folds: verdicts
#
# Every stage that learns or selects (chooser, generators, VAEs, filters and their judge, the
# fidelity extractor, the downstream classifiers) ran inside each outer fold on that fold's
# training part; each fold's held-out samples were read only by its final scoring. Here the
# folds are put together, computing nothing from images:
#
# - per row and fold, the paired macro-F1 difference from real-only (same fold, same seeds);
# - across folds, the **Bayesian correlated t-test** with a region of practical equivalence
#   (ROPE): P(better), P(practically equivalent), P(worse) and a verdict; beside it the
#   Nadeau–Bengio corrected t-test with Holm's correction, and the minority-class recall
#   difference (secondary endpoint);
# - pooled out-of-fold predictions for per-class recall and confusion matrices;
# - the other stages' numbers (chooser's pick, generator checks, filter counts, fidelity
#   against its real-vs-real null) as mean ± sd across folds.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline.py.
stage = "evaluate"
params = None
paths = None

# %%
import json

from gansemble_lib import crossval, progress, report_figures
from gansemble_lib import downstream as ds
from gansemble_lib.applicability import mark_not_applicable
from gansemble_lib.constants import FID, KID_MEAN, PRECISION, RECALL
from gansemble_lib.dataset import read_prepared_info
from gansemble_lib.figures import save_figure
from gansemble_lib.folds import fold_names
from gansemble_lib.io_utils import write_json
from gansemble_lib.pipeline import VARIANTS, notebook_inputs, variants
from gansemble_lib.tables import frame_record, save_table

params, paths = notebook_inputs(stage, params, paths)
info = read_prepared_info(paths.prepared_dir)
folds, classes, modality = fold_names(paths.prepared_dir), tuple(info["classes"]), info["modality"]
k, repeats = info.get("outer_folds", 1), info.get("repeats", 1)
print(f"{len(folds)} fold(s): {', '.join(folds)}; {len(classes)} classes; {modality}")

# ## Verdicts
# `diff_mean` is the mean over folds of the paired macro-F1 difference from real-only; the
# probabilities are the posterior's mass below -ROPE, within ±ROPE and above +ROPE.

# %%
predictions = crossval.load_predictions(paths.folds_dir, folds)
minority = crossval.minority_classes(paths.folds_dir, folds)
scores = crossval.fold_scores(predictions, len(classes), minority)
verdicts = crossval.verdict_table(scores, rope=params.rope, decision=params.decision,
                                  runs=repeats)
if k == 1:  # one split: its paired bootstrap interval (seeds and test images) instead
    in_split = json.loads(open(f"{paths.folds_dir}/{folds[0]}/reports/metrics/06_downstream.json",
                               encoding="utf-8").read())["rows"]
    for column in ("ci_low", "ci_high"):
        verdicts[column] = [in_split.get(row, {}).get(column) for row in verdicts.index]
verdicts = mark_not_applicable(verdicts, ds.spectra_only_rows(), modality=modality)
save_table(verdicts, paths.tables_dir, "06_verdicts")
verdicts

# %%
generators = [*VARIANTS, "vae"]  # every generator's name, whether or not it applies here
synthetic_rows, baseline_rows = crossval.row_groups(list(verdicts.index), generators)
statement = crossval.conclusion(verdicts, synthetic_rows=synthetic_rows,
                                baseline_rows=baseline_rows, rope=params.rope, folds=k,
                                repeats=repeats, decision=params.decision)
print(statement)
save_figure(report_figures.fold_forest(scores, verdicts, baseline=ds.REAL_ONLY,
                                       rope=params.rope), f"{paths.figures_dir}/06_forest.png")

# ## Pooled out-of-fold recall and confusion
# Every sample is predicted once per repeat by classifiers of the fold that held it out.

# %%
recall = crossval.pooled_recall(predictions, classes)
save_table(recall, paths.tables_dir, "06_per_class_recall")
minority_names = sorted({classes[c] for f in folds for c in minority[f]})
save_figure(report_figures.recall_bars(recall, minority=minority_names),
            f"{paths.figures_dir}/06_recall.png")
shown = [ds.REAL_ONLY, *[r for r in synthetic_rows if r in recall.index][:2],
         *[r for r in baseline_rows if r in recall.index][-1:]]
save_figure(report_figures.confusion_grid(predictions, classes, shown),
            f"{paths.figures_dir}/06_confusion.png")
recall.round(3)

# ## The other stages across folds

# %%
choices = crossval.chooser_choices(paths.folds_dir, folds)
save_table(choices, paths.tables_dir, "02_choices")
generator_table = crossval.generator_checks(paths.folds_dir, folds, list(variants(modality)))
save_table(generator_table, paths.tables_dir, "03_generators")
kept = crossval.filter_kept(paths.folds_dir, folds)
save_table(kept, paths.tables_dir, "04_filter_folds")
fidelity = crossval.fidelity_across_folds(paths.folds_dir, folds,
                                          (FID, KID_MEAN, PRECISION, RECALL))
save_table(fidelity, paths.tables_dir, "05_fidelity_folds")
display(choices, generator_table)  # noqa: F821 (IPython)
fidelity.round(3)

# %%
first = json.loads(open(f"{paths.folds_dir}/{folds[0]}/reports/metrics/05_fidelity.json",
                        encoding="utf-8").read())
in_fold = {f: json.loads(open(f"{paths.folds_dir}/{f}/reports/metrics/06_downstream.json",
                              encoding="utf-8").read()) for f in folds}
emptied = {f: record["emptied_by_filter"] for f, record in in_fold.items()
           if record["emptied_by_filter"]}
print("filters that kept no image (no row in that fold):", emptied or "none")
design = {"folds": k, "repeats": repeats, "fold_names": folds, "rope": params.rope,
          "decision": params.decision}
write_json(f"{paths.metrics_dir}/06_downstream.json", {
    **design, "rows": frame_record(verdicts), "row_order": list(verdicts.index),
    "synthetic_rows": synthetic_rows, "baseline_rows": baseline_rows,
    "conclusion": statement, "baseline": ds.REAL_ONLY, "emptied_by_filter": emptied,
    "classifier": in_fold[folds[0]]["classifier"], "budget": in_fold[folds[0]]["budget"],
    "seeds": in_fold[folds[0]]["seeds"],
    "primary_endpoint": "macro-F1 (mean over classifier seeds) on each fold's held-out part",
    "secondary_endpoint": "mean recall of the minority classes (train count below the median)",
    "test_data": "each outer fold's held-out part, read only by that fold's final scoring"})
write_json(f"{paths.metrics_dir}/02_chosen.json",
           {**design, "per_fold": frame_record(choices)})
write_json(f"{paths.metrics_dir}/03_generators.json",
           {**design, "generators": frame_record(generator_table)})
write_json(f"{paths.metrics_dir}/04_filter.json", {**design, "kept": frame_record(kept)})
write_json(f"{paths.metrics_dir}/05_fidelity.json",
           {**design, "extractor": first["extractor"],
            "overall": frame_record(fidelity)})
counts = verdicts["verdict"].value_counts().to_dict() if "verdict" in verdicts else {}
progress.summary(
    f"{len(verdicts)} rows over {len(folds)} fold(s); real-only macro-F1 "
    f"{verdicts.loc[ds.REAL_ONLY, 'macro_f1_mean']:.3f}; verdicts: "
    + (", ".join(f"{v} {n}" for v, n in counts.items()) or "none (one split)"))
