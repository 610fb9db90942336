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
# # 06b · Across the units: verdicts
#
# A unit is an independent simulated replicate (each with its own fresh test set) or an outer
# fold of one real dataset; the code and the text below say "fold" for both. Every stage that
# learns or selects (chooser, generators, VAEs, filters and their judge, the fidelity
# extractor, the downstream classifiers) ran inside each unit on that unit's training part;
# each unit's held-out samples were read only by its final scoring. Here the units are put
# together, computing nothing from images:
#
# - per row and fold, the paired macro-F1 difference from real-only (same fold, same seeds);
# - across folds, the **Bayesian correlated t-test** with a region of practical equivalence
#   (ROPE): P(better), P(practically equivalent), P(worse) and a verdict; beside it the
#   Nadeau–Bengio corrected t-test with Holm's correction, and the minority-class recall
#   difference (secondary endpoint);
# - pooled out-of-fold predictions for per-class recall and confusion matrices;
# - the other stages' numbers (chooser's pick, generator checks, filter counts, fidelity
#   against its real-vs-real null) as mean ± sd across folds.
#
# **What to look for.** The verdict column first: "undecided" means the units cannot tell, and
# the smallest decidable difference beside it says how large an effect this design could have
# detected. In the forest plot, rows marked with a cross use a generator that failed its gate:
# they measure a failed generator, not synthetic data. In the recall heatmap, whether a row
# moves the minority classes (marked *) or only the large ones.

# %% tags=["parameters"]
# Run by `dvc repro`, `gansemble notebook` injects the stage name, its validated
# params.yaml section and its paths; run by hand, they are read from params.yaml
# and gansemble_lib/pipeline/stages.py.
stage = "evaluate"
params = None
paths = None

# %%
import json
from pathlib import Path

import numpy as np
import pandas as pd

from gansemble_lib.core import progress
from gansemble_lib.core.applicability import mark_not_applicable
from gansemble_lib.core.constants import FID, KID_MEAN, PRECISION, RECALL
from gansemble_lib.core.errors import DataError
from gansemble_lib.core.figures import save_figure
from gansemble_lib.core.io_utils import write_json
from gansemble_lib.core.params_io import borrowed_section
from gansemble_lib.core.tables import frame_record, json_ready, save_table
from gansemble_lib.data.dataset import read_prepared_info
from gansemble_lib.data.units import fold_names
from gansemble_lib.evaluation import across_units, crossval, gate, worth
from gansemble_lib.evaluation import rows as row_kinds
from gansemble_lib.pipeline.inputs import notebook_inputs
from gansemble_lib.pipeline.stages import VARIANTS, variants
from gansemble_lib.reporting import report_figures

params, paths = notebook_inputs(stage, params, paths)
info = read_prepared_info(paths.prepared_dir)
folds, classes, modality = fold_names(paths.prepared_dir), tuple(info["classes"]), info["modality"]
k, repeats = info.get("outer_folds", 1), info.get("repeats", 1)
independent = info.get("design") == "replicates"  # independent units: see crossval.py
if independent:  # R replicates are R units with one "repeat" each
    k = len(folds)
print(f"{len(folds)} fold(s): {', '.join(folds)}; {len(classes)} classes; {modality}")

# ## Verdicts
# `diff_mean` is the mean over folds of the paired macro-F1 difference from real-only; the
# probabilities are the posterior's mass below -ROPE, within ±ROPE and above +ROPE.

# %%
predictions = crossval.load_predictions(paths.folds_dir, folds)
in_fold = {f: json.loads(open(f"{paths.folds_dir}/{f}/reports/metrics/06_downstream.json",
                              encoding="utf-8").read()) for f in folds}  # each fold's record
minority = crossval.minority_classes(paths.folds_dir, folds)
all_scores = crossval.fold_scores(predictions, len(classes), minority)
# Spectrum classifiers trained with synthetic spectra are judged against the same classifier on
# real spectra (their own table below), not against the image CNN.
# what every row is, as each unit's stage 06 recorded it (rows.py): nothing below reads names
try:
    records = row_kinds.from_json(*(record.get("row_records") for record in in_fold.values()))
except ValueError as error:
    raise DataError(str(error), path=paths.folds_dir,
                    fix="rerun the units' stages with one version of the code") from None
unknown = sorted(set(all_scores[crossval.ROW]) - set(records))
if unknown:  # units run before stage 06 recorded its rows (2026-12-04)
    raise DataError(f"rows without a record in the units' stage 06 metrics: {unknown}",
                    path=paths.folds_dir, fix="rerun the folds stage (`dvc repro folds`)")
families = row_kinds.spectrum_families(records)
# more real data is not an augmentation method: the oracle rows get their own section
in_families = {row for rows in families.values() for row in rows} | set(
    row_kinds.oracle_rows(records))
scores = all_scores[~all_scores[crossval.ROW].isin(in_families)]
predictions_main = predictions[~predictions[crossval.ROW].isin(in_families)]
verdicts = crossval.verdict_table(scores, rope=params.rope, decision=params.decision,
                                  runs=repeats, independent=independent)
if k == 1:  # one split: its paired bootstrap interval (seeds and test images) instead
    in_split = in_fold[folds[0]]["rows"]
    for column in ("ci_low", "ci_high"):
        verdicts[column] = [in_split.get(row, {}).get(column) for row in verdicts.index]
verdicts = mark_not_applicable(verdicts, row_kinds.spectra_only_rows(), modality=modality)
save_table(verdicts, paths.tables_dir, "06_verdicts")
verdicts

# %% [markdown]
# ## The generator gate across folds
# Did each generator learn its classes (validity against the label-shuffled null and real
# validation data) and their variety (within-class diversity)? Rules:
# `gansemble_lib/evaluation/gate.py`.
# A generator that failed in any fold is marked; its rows stay in every table, but the
# conclusion lists them apart from the rows of working generators.

# %%
generators = [*VARIANTS, "vae"]  # every generator's name, whether or not it applies here
gates = across_units.gate_table(paths.folds_dir, folds, generators)
save_table(gates, paths.tables_dir, "03_gate")
row_generator = {row: records[row].generator for row in dict.fromkeys(all_scores[crossval.ROW])}
# a generator whose samples are in some row but that has no gate record is "not gated"
failed = across_units.failed_generators(gates, sorted({g for g in row_generator.values() if g}))
failed_rows = {row: failed[g] for row, g in row_generator.items() if g in failed}
print(gate.rules(borrowed_section("gate", paths)))
print("failed the gate:", failed or "none")
verdicts.insert(0, "generator_gate", [
    failed.get(row_generator.get(row), gate.PASSED) if row_generator.get(row) else ""
    for row in verdicts.index])
gates

# %%
synthetic_rows = row_kinds.generated_rows(records, verdicts.index)
baseline_rows = row_kinds.baseline_rows(records, verdicts.index)
statement = crossval.conclusion(verdicts, synthetic_rows=synthetic_rows,
                                baseline_rows=baseline_rows, rope=params.rope, folds=k,
                                repeats=repeats, decision=params.decision,
                                failed_rows=failed_rows, replicates=independent)
print(statement)

# ## What more real data would buy (simulated data only)
# On simulated data each fold also trained on real-only + k fresh simulated spectra per class
# (spectra in no split of any fold): the oracle rows. Read backwards, their curve says what
# each row is "worth" in real spectra per class: per unit, the row's score is read off that
# unit's own curve (made monotone), and the table gives the median and the 10-90 % range across
# units. The learning curve adds k to the best baseline (the chooser's pick in that unit) and
# the best generator (highest held-in gate validity of those that passed, named per unit).
# Under the cv design a large fresh simulated test set also scores every image row; under the
# replicates design every unit's test part is such a set already.

# %%
simulated = bool(info.get("simulation"))
ks = sorted({records[row].k for row in row_kinds.oracle_rows(records) if records[row].k > 0})
oracle_record = {"simulated": simulated}
if simulated and ks:
    per_fold = {f: record["oracle"] for f, record in in_fold.items() if record.get("oracle")}
    fresh_scores = pd.concat([
        pd.read_csv(f"{paths.folds_dir}/{f}/reports/tables/06_simulated_test.csv")
        .assign(fold=f) for f in folds], ignore_index=True).dropna(subset=["macro_f1"])
    # the curves on both test sets: each fold's held-out part, and the fresh simulated one
    # (under the replicates design every unit's test part is a fresh simulated set)
    own_test = worth.FRESH_TEST if independent else worth.HELD_OUT
    curves = {own_test: worth.learning_curve(all_scores, ks=tuple(ks))}
    if len(fresh_scores):
        curves[worth.FRESH_TEST] = worth.learning_curve(fresh_scores, ks=tuple(ks))
    curve = pd.concat([c.assign(test=name) for name, c in curves.items()], ignore_index=True)
    real_rows = [row_kinds.REAL_ONLY, *(worth.row_name(row_kinds.REAL_ONLY, k) for k in ks)]
    oracle_table = crossval.verdict_table(all_scores[all_scores[crossval.ROW].isin(real_rows)],
                                          rope=params.rope, decision=params.decision,
                                          runs=repeats, independent=independent).loc[real_rows]
    # not on the LeNet's curve
    other_classifiers = (row_kinds.LOGREG_ROW, row_kinds.CNN_ROW, row_kinds.NN_ROW)
    # per unit: the row's score read off that unit's own curve; the median and 10-90 % range
    unit_worth = worth.worth_per_unit(all_scores, tuple(ks))
    verdicts.insert(len(verdicts.columns), "worth_real_per_class", [
        "" if row in (*other_classifiers, row_kinds.REAL_ONLY) or row not in unit_worth.index else
        worth.worth_summary(unit_worth.loc[row].to_numpy(float), max(ks))
        for row in verdicts.index])
    simulated_test = pd.DataFrame()
    if len(fresh_scores):  # every row but the baseline's and generator's curve points
        simulated_test = fresh_scores.groupby("row", sort=False)[["macro_f1", "diff"]].agg(
            ["mean", "std"])
        simulated_test.columns = [f"{m}_{'sd' if s == 'std' else s}"
                                  for m, s in simulated_test.columns]
        order = [r for r in [*verdicts.index, *real_rows[1:]] if r in simulated_test.index]
        simulated_test = simulated_test.loc[order]
        simulated_test["worth_real_per_class"] = [
            worth.worth_text(worth.worth(value, curves[worth.FRESH_TEST]), max(ks))
            for value in simulated_test["macro_f1_mean"]]
    train_counts = [sum(json.loads(open(f"{paths.folds_dir}/{f}/data/prepared/info.json",
                                        encoding="utf-8").read())["counts"]["train"].values())
                    for f in folds]
    real_per_class = float(np.mean(train_counts)) / len(classes)
    figure = report_figures.learning_curve(
        curve, real_per_class=real_per_class,
        title=f"{len(folds)} {'replicate' if independent else 'fold'}(s); best generator per "
              f"{'replicate' if independent else 'fold'}: "
              + ", ".join(str(r.get("best_generator")) for r in per_fold.values()))
    oracle_record.update(
        k=[int(k) for k in ks], real_per_class=real_per_class,
        best_generator={f: {"name": r.get("best_generator"),
                            "note": r.get("best_generator_why")} for f, r in per_fold.items()},
        best_baseline={f: r.get("best_baseline") for f, r in per_fold.items()},
        simulated_test_spectra=max((r.get("simulated_test_spectra", 0)
                                    for r in per_fold.values()), default=0),
        test_part_is_fresh=independent)  # replicates: every unit's test part is fresh
else:
    reason = worth.NOT_SIMULATED if not simulated else "no oracle rows were run"
    oracle_record["why_not"] = reason
    curve = pd.DataFrame({"note": [reason]})
    oracle_table = simulated_test = pd.DataFrame({"note": [reason]})
    figure = report_figures.message_figure(reason)
    print(reason)
save_table(verdicts, paths.tables_dir, "06_verdicts")  # now with the gate and worth columns
if modality == "spectra":
    save_table(oracle_table, paths.tables_dir, "06_oracle")
    save_table(curve, paths.tables_dir, "06_learning_curve")
    save_table(simulated_test, paths.tables_dir, "06_simulated_test")
    save_figure(figure, f"{paths.figures_dir}/06_learning_curve.png")
display(oracle_table, simulated_test)  # noqa: F821 (IPython)
curve

# ## Does synthetic data help the classifier a chemist would use?
# Logistic regression and a small 1-D CNN on the spectra, each trained on real spectra and on
# real + one synthetic set (SMOTE and the spectrum GAN's own spectra; the image generators'
# samples read back to spectra), each judged against the same classifier on real spectra only.

# %%
spectrum_verdicts = crossval.family_verdicts(all_scores, families, rope=params.rope,
                                             decision=params.decision, runs=repeats,
                                             independent=independent)
if not spectrum_verdicts.empty:
    spectrum_verdicts.insert(0, "generator_gate", [
        failed.get(row_generator.get(row), gate.PASSED) if row_generator.get(row) else ""
        for row in spectrum_verdicts.index])
    save_table(spectrum_verdicts, paths.tables_dir, "06_spectrum_classifiers")
spectrum_statement = crossval.family_statement(spectrum_verdicts, failed_rows=failed_rows)
print(spectrum_statement)
spectrum_verdicts

# %% [markdown]
# ## The first look (replicates design)
# With more replicates than `evaluation.interim`, the verdicts over the first N replicates as
# well: a look planned before the run, reported beside the verdicts over all of them. The gate
# marks are those of all the replicates.

# %%
interim = params.interim if independent and 0 < params.interim < len(folds) else 0
interim_record = crossval.first_look(all_scores, folds[:interim], excluded=in_families,
                                     families=families, rope=params.rope,
                                     decision=params.decision) if interim else {}
if interim_record:
    print(f"first {interim} of {len(folds)} replicates:",
          pd.Series([r.get("verdict") for r in interim_record["rows"].values()])
          .value_counts().to_dict())
interim_record

# %% [markdown]
# ## The verdicts at a glance
# Figure: each row's difference from its own baseline in every unit (dots) and the mean
# (marker, coloured by verdict). Look for markers outside the grey band (the region of
# practical equivalence) and for crosses: rows whose generator failed the gate measure a
# failed generator, not synthetic data. The spectrum classifiers are drawn against
# themselves on real spectra, never against the image CNN.

# %%
unit_word = "replicate" if independent else "fold"
verdict_of = verdicts["verdict"].to_dict() if "verdict" in verdicts else {}  # none: one split
image_rows = row_kinds.image_rows(records, (row_kinds.BASELINE, row_kinds.SYNTHETIC,
                                           row_kinds.COMBO), verdicts.index)
tstr_rows = row_kinds.image_rows(records, (row_kinds.TSTR,), verdicts.index)
forest_panels = [
    report_figures.ForestPanel("image CNN: augmentation and synthetic data", row_kinds.REAL_ONLY,
                               image_rows, verdict_of),
    report_figures.ForestPanel("image CNN: train on synthetic only (own scale)",
                               row_kinds.REAL_ONLY, tstr_rows,
                               verdict_of, scale="own"),
    report_figures.ForestPanel("other classifiers on real spectra only (own scale)",
                               row_kinds.REAL_ONLY, [r for r in row_kinds.REFERENCE_ROWS[1:]
                                              if r in verdicts.index], verdict_of,
                               scale="own"),
    *(report_figures.ForestPanel(f"{base}: with synthetic spectra", base, rows,
                                 spectrum_verdicts["verdict"].to_dict()
                                 if "verdict" in spectrum_verdicts else {})
      for base, rows in families.items() if rows)]
save_figure(report_figures.fold_forest(all_scores, forest_panels, rope=params.rope,
                                       failed_rows=failed_rows, unit=unit_word),
            f"{paths.figures_dir}/06_forest.png")

# ## Pooled out-of-fold recall and confusion
# Every sample is predicted once per repeat by classifiers of the fold that held it out.

# %%
recall = crossval.pooled_recall(predictions_main, classes)
save_table(recall, paths.tables_dir, "06_per_class_recall")
minority_names = sorted({classes[c] for f in folds for c in minority[f]})
pooled = f"pooled out-of-{unit_word} predictions of all {len(folds)} {unit_word}s"
save_figure(report_figures.recall_heatmap(recall, minority=minority_names,
                                          failed_rows=failed_rows,
                                          title=f"Per-class recall, {pooled}"),
            f"{paths.figures_dir}/06_recall.png")
shown = crossval.confusion_rows(verdicts, synthetic_rows=[r for r in synthetic_rows
                                                         if r not in tstr_rows],
                                baseline_rows=baseline_rows, failed_rows=failed_rows)
save_figure(report_figures.confusion_grid(predictions_main, classes, shown,
                                          title=f"Confusion matrices, {pooled}",
                                          unit=unit_word),
            f"{paths.figures_dir}/06_confusion.png")
recall.round(3)

# ## The other stages across folds
# The first unit's own figures (chooser heatmap, sample grids, filter grids) are copied to
# `reports/figures/first_unit/` so that a fresh clone shows what each generator draws.

# %%
copied = across_units.copy_unit_figures(paths.folds_dir, folds[0],
                                   f"{paths.figures_dir}/first_unit")
print(f"{len(copied)} figures of {folds[0]} copied to {paths.figures_dir}/first_unit")
choices = across_units.chooser_choices(paths.folds_dir, folds)
save_table(choices, paths.tables_dir, "02_choices")
generator_table = across_units.generator_checks(paths.folds_dir, folds, list(variants(modality)))
save_table(generator_table, paths.tables_dir, "03_generators")
kept = across_units.filter_kept(paths.folds_dir, folds)
save_table(kept, paths.tables_dir, "04_filter_folds")
fidelity = across_units.fidelity_across_folds(paths.folds_dir, folds,
                                          (FID, KID_MEAN, PRECISION, RECALL))
fidelity.insert(0, "generator_gate", [  # a set's FID means little if its generator failed
    failed.get(source, gate.PASSED) if source in generators else ""
    for source in (key.split("/")[0] for key in fidelity.index)])
save_table(fidelity, paths.tables_dir, "05_fidelity_folds")
display(choices, generator_table)  # noqa: F821 (IPython)
fidelity.round(3)

# %% [markdown]
# ## The paper's baseline table (stage 05b, first fold)

# %%
paper_path = Path(f"{paths.folds_dir}/{folds[0]}/reports/metrics/05b_paper_table.json")
if params.paper_table:  # a file left by an earlier run is never shown when switched off
    if not paper_path.is_file():
        raise FileNotFoundError(f"{paper_path}: stage 05b is switched on but wrote nothing")
    paper_record = json.loads(paper_path.read_text(encoding="utf-8"))
    paper_table = pd.read_csv(f"{paths.folds_dir}/{folds[0]}/reports/tables/05b_paper_table.csv",
                              index_col=0)
else:  # switched off (evaluation.paper_table: false): say so rather than leave a gap
    paper_record = {"enabled": False, "how": "set evaluation.paper_table: true and rerun"}
    paper_table = pd.DataFrame({"note": ["stage 05b is switched off (evaluation.paper_table)"]})
save_table(paper_table, paths.tables_dir, "05b_paper_table")
write_json(f"{paths.metrics_dir}/05b_paper_table.json", {"fold": folds[0], **paper_record})
paper_table

# %%
first = json.loads(open(f"{paths.folds_dir}/{folds[0]}/reports/metrics/05_fidelity.json",
                        encoding="utf-8").read())
emptied = {f: record["emptied_by_filter"] for f, record in in_fold.items()
           if record["emptied_by_filter"]}
print("filters that kept no image (no row in that fold):", emptied or "none")
design = {"design": info.get("design", "cv"), "folds": k, "repeats": repeats,
          "fold_names": folds, "rope": params.rope, "decision": params.decision}
write_json(f"{paths.metrics_dir}/06_downstream.json", {
    **design, "rows": frame_record(verdicts), "row_order": list(verdicts.index),
    "row_records": row_kinds.to_json(records),
    "synthetic_rows": synthetic_rows, "baseline_rows": baseline_rows,
    "conclusion": statement, "baseline": row_kinds.REAL_ONLY, "emptied_by_filter": emptied,
    "failed_generator_rows": failed_rows,
    "oracle": {**oracle_record, "rows": frame_record(oracle_table),
               "row_order": list(oracle_table.index) if "note" not in oracle_table else [],
               "simulated_test_order": list(simulated_test.index)
               if "note" not in simulated_test else [],
               "learning_curve": {} if "curve" not in curve else json_ready({
                   test: {name: {str(int(p["k"])): {key: p[key] for key in
                                                    ("macro_f1_mean", "macro_f1_sd", "folds")}
                                 for _, p in part.iterrows()}
                          for name, part in on_test.groupby("curve", sort=False)}
                   for test, on_test in curve.groupby("test", sort=False)}),
               "simulated_test": frame_record(simulated_test)},
    "spectrum_classifiers": {"rows": frame_record(spectrum_verdicts),
                             "row_order": list(spectrum_verdicts.index),
                             "conclusion": spectrum_statement},
    "interim": interim_record,
    "classifier": in_fold[folds[0]]["classifier"], "budget": in_fold[folds[0]]["budget"],
    "seeds": in_fold[folds[0]]["seeds"],
    "primary_endpoint": "macro-F1 (mean over classifier seeds) on each "
                        + ("replicate's fresh test set" if independent
                           else "fold's held-out part"),
    "secondary_endpoint": "mean recall of the minority classes (train count below the median)",
    "test_data": ("each replicate's own fresh simulated test set (the smallest class "
                  f"{info.get('replicate_test_min')} spectra), read only by its final scoring"
                  if independent else
                  "each outer fold's held-out part, read only by that fold's final scoring"),
    "verdict_test": ("Bayesian t posterior over independent replicates (scale s/sqrt(R))"
                     if independent else "Bayesian correlated t-test over the outer folds")})
write_json(f"{paths.metrics_dir}/02_chosen.json",
           {**design, "per_fold": frame_record(choices)})
write_json(f"{paths.metrics_dir}/03_generators.json",
           {**design, "generators": frame_record(generator_table), "gate": frame_record(gates),
            "gate_rules": gate.rules(borrowed_section("gate", paths))})
write_json(f"{paths.metrics_dir}/04_filter.json", {**design, "kept": frame_record(kept)})
fidelity_units = [f for f in folds  # under the replicates design: the first replicate only
                  if Path(f"{paths.folds_dir}/{f}/reports/metrics/05_fidelity.json").is_file()]
write_json(f"{paths.metrics_dir}/05_fidelity.json",
           {**design, **({"folds": len(fidelity_units), "repeats": 1} if independent else {}),
            "fidelity_units": fidelity_units, "extractor": first["extractor"],
            "overall": frame_record(fidelity),
            # the first unit's sets scored with the standard Inception-v3 too, when it was there
            "standard": first.get("standard"), "standard_unit": folds[0]})
counts = verdicts["verdict"].value_counts().to_dict() if "verdict" in verdicts else {}
progress.summary(
    f"{len(verdicts)} rows over {len(folds)} {'replicate' if independent else 'fold'}(s); "
    "real-only macro-F1 "
    f"{verdicts.loc[row_kinds.REAL_ONLY, 'macro_f1_mean']:.3f}; verdicts: "
    + (", ".join(f"{v} {n}" for v, n in counts.items()) or "none (one split)"))
