"""Outer folds and the verdicts drawn across them."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from gansemble_lib.core.constants import TEST, TRAIN, UNUSED, VAL
from gansemble_lib.core.errors import DataError
from gansemble_lib.data.splits import outer_folds
from gansemble_lib.data.units import fold_names, read_fold_table
from gansemble_lib.evaluation import crossval
from gansemble_lib.evaluation import rows as row_kinds
from gansemble_lib.evaluation.rows import REAL_ONLY, ROW
from gansemble_lib.pipeline.folds import write_fold_view

LABELS = np.repeat(["a", "b", "c", "d"], [30, 12, 7, 5])


# --- the folds -----------------------------------------------------------------------------

@pytest.mark.parametrize(("folds", "repeats"), [(5, 1), (3, 2), (2, 1)])
def test_every_sample_is_tested_once_per_repeat_and_every_class_is_in_every_part(folds,
                                                                                 repeats):
    parts = outer_folds(LABELS, folds=folds, repeats=repeats, test_fraction=0.2,
                        val_fraction=0.15, seed=3)
    assert list(parts) == [f"r{r}f{k}" for r in range(repeats) for k in range(folds)]
    for r in range(repeats):
        tested = sum((parts[f"r{r}f{k}"] == TEST).astype(int) for k in range(folds))
        assert (tested == 1).all()  # each sample held out exactly once in the repeat
    for name, assignment in parts.items():
        for part in (TRAIN, VAL, TEST):
            present = set(LABELS[assignment == part])
            assert present == set(LABELS), f"{name}: {part} lacks {set(LABELS) - present}"
        test_counts = Counter(LABELS[assignment == TEST])
        for label, n in Counter(LABELS).items():  # stratified: n/K, rounded either way
            assert abs(test_counts[label] - n / folds) < 1


def test_repeats_shuffle_differently_and_the_seed_fixes_the_folds():
    first = outer_folds(LABELS, folds=3, repeats=2, test_fraction=0.2, val_fraction=0.15,
                        seed=0)
    again = outer_folds(LABELS, folds=3, repeats=2, test_fraction=0.2, val_fraction=0.15,
                        seed=0)
    assert all((first[k] == again[k]).all() for k in first)
    assert not (first["r0f0"] == first["r1f0"]).all()


def test_one_fold_is_the_single_stratified_split():
    parts = outer_folds(LABELS, folds=1, repeats=1, test_fraction=0.2, val_fraction=0.15,
                        seed=0)
    assert list(parts) == ["split"]
    assert set(parts["split"]) == {TRAIN, VAL, TEST}


def test_a_class_too_small_for_the_folds_is_named_with_the_fix():
    labels = np.repeat(["big", "tiny"], [20, 4])
    with pytest.raises(DataError) as error:
        outer_folds(labels, folds=5, repeats=1, test_fraction=0.2, val_fraction=0.15, seed=0)
    message = str(error.value)
    assert "'tiny' has 4 sample(s)" in message and "evaluation.folds" in message


def test_the_fold_view_holds_that_folds_parts_and_the_same_arrays(tmp_path):
    from gansemble_lib.core.profiles import profile_params
    from gansemble_lib.data.dataset import load_prepared
    from gansemble_lib.data.prepare import prepare
    from gansemble_lib.data.simulate import SimulationConfig
    from gansemble_lib.data.simulated_raw import write_dataset

    raw = write_dataset(tmp_path / "raw", SimulationConfig(
        class_counts={"PE": 9, "PS": 7, "POM": 6}, points=300))
    info = prepare(raw, tmp_path / "prepared", profile_params("smoke")["prepare"], folds=3,
                   repeats=2)
    assert info["folds"] == fold_names(tmp_path / "prepared") == [
        "r0f0", "r0f1", "r0f2", "r1f0", "r1f1", "r1f2"]
    table = read_fold_table(tmp_path / "prepared")
    view = load_prepared(write_fold_view("r1f2", tmp_path / "prepared", tmp_path / "view"))
    assert (view.manifest["split"] == table["r1f2"]).all()
    assert view.info["fold"] == "r1f2"
    assert sum(view.info["counts"][TEST].values()) == int((table["r1f2"] == TEST).sum())
    whole = load_prepared(tmp_path / "prepared")
    assert np.array_equal(view.images, whole.images)
    assert set(table["r1f2"]) <= {TRAIN, VAL, TEST, UNUSED}
    with pytest.raises(DataError, match="no fold 'r9f9'"):
        write_fold_view("r9f9", tmp_path / "prepared", tmp_path / "bad")


# --- the verdicts --------------------------------------------------------------------------

def _scores(diffs: dict[str, list[float]], base: list[float]) -> pd.DataFrame:
    """Per-fold scores: real-only's, and each row's as real-only's plus a given difference."""
    rows = []
    for k, b in enumerate(base):
        rows.append({crossval.FOLD: f"r0f{k}", ROW: REAL_ONLY, "macro_f1": b,
                     crossval.MINORITY_RECALL: 0.5})
        for name, d in diffs.items():
            rows.append({crossval.FOLD: f"r0f{k}", ROW: name, "macro_f1": b + d[k],
                         crossval.MINORITY_RECALL: 0.5 + d[k]})
    return pd.DataFrame(rows)


BASE = [0.71, 0.78, 0.69, 0.74, 0.80]


def test_identical_better_and_worse_rows_get_their_verdicts():
    scores = _scores({
        "same as real-only": [0, 0, 0, 0, 0],
        "much better": [0.12, 0.15, 0.10, 0.14, 0.13],
        "much worse": [-0.11, -0.09, -0.14, -0.12, -0.10],
        "noisy": [0.10, -0.12, 0.08, -0.09, 0.02],
        "small and steady": [0.004, -0.003, 0.002, 0.001, -0.002],
    }, BASE)
    table = crossval.verdict_table(scores, rope=0.02, decision=0.95, runs=1)
    assert table.loc["same as real-only", "verdict"] == crossval.EQUIVALENT
    assert table.loc["same as real-only", "p_equivalent"] == 1.0
    assert table.loc["much better", "verdict"] == crossval.BETTER
    assert table.loc["much better", "p_better"] > 0.95
    assert table.loc["much worse", "verdict"] == crossval.WORSE
    assert table.loc["noisy", "verdict"] == crossval.UNDECIDED
    assert table.loc["small and steady", "verdict"] == crossval.EQUIVALENT
    probabilities = table[["p_better", "p_equivalent", "p_worse"]].dropna()
    assert np.allclose(probabilities.sum(axis=1), 1)
    assert table.loc["much better", "minority_recall_diff"] == pytest.approx(0.128)


def test_the_corrected_t_test_matches_its_formula_and_holm_adjusts_across_rows():
    diffs = np.array([0.05, 0.02, 0.04, 0.01, 0.03])
    t, p = crossval.nadeau_bengio(diffs, runs=1)
    k = 5
    expected = diffs.mean() / np.sqrt(diffs.var(ddof=1) * (1 / 5 + 1 / (k - 1)))
    assert t == pytest.approx(expected)
    naive = diffs.mean() / np.sqrt(diffs.var(ddof=1) / 5)
    assert abs(t) < abs(naive)  # the correction widens the uncertainty
    table = crossval.verdict_table(_scores({"x": list(diffs), "y": list(-diffs / 2)}, BASE),
                                   rope=0.02, decision=0.95, runs=1)
    assert (table["p_holm"].dropna() >= table["p_value"].dropna()).all()
    assert table.loc["x", "p_holm"] == pytest.approx(min(1, 2 * min(table["p_value"].dropna())))


def test_a_row_missing_in_a_fold_gets_no_verdict():
    scores = _scores({"kept nothing once": [0.1] * 5}, BASE)
    scores = scores[~((scores[ROW] == "kept nothing once") & (scores[crossval.FOLD] == "r0f2"))]
    table = crossval.verdict_table(scores, rope=0.02, decision=0.95, runs=1)
    assert table.loc["kept nothing once", "verdict"] == crossval.MISSING
    assert pd.isna(table.loc["kept nothing once", "p_better"])


def test_the_conclusion_names_verdicts_and_the_strongest_baseline():
    scores = _scores({"random oversampling": [0.01] * 5, "vae (no filter)": [0.12, 0.15, 0.10,
                                                                              0.14, 0.13]},
                     BASE)
    table = crossval.verdict_table(scores, rope=0.02, decision=0.95, runs=1)
    record = row_kinds.RowRecord
    records = {REAL_ONLY: record(REAL_ONLY, row_kinds.REAL),
               "random oversampling": record("random oversampling", row_kinds.BASELINE),
               "vae (no filter)": record("vae (no filter)", row_kinds.SYNTHETIC, source="vae",
                                         filter="none")}
    synthetic = row_kinds.generated_rows(records, table.index)
    baselines = row_kinds.baseline_rows(records, table.index)
    assert synthetic == ["vae (no filter)"] and baselines == ["random oversampling"]
    text = crossval.conclusion(table, synthetic_rows=synthetic, baseline_rows=baselines,
                               rope=0.02, folds=5, repeats=1, decision=0.95)
    assert "better: vae (no filter)" in text
    assert "strongest baseline without a generator is random oversampling" in text


def test_scores_pool_seeds_within_a_fold_and_minority_recall_uses_that_folds_minority():
    predictions = pd.DataFrame({
        crossval.FOLD: ["f"] * 8, ROW: [REAL_ONLY] * 8, "seed": [0] * 4 + [1] * 4,
        "y_true": [0, 0, 1, 1] * 2, "y_pred": [0, 0, 1, 0, 0, 0, 1, 1]})
    scores = crossval.fold_scores(predictions, 2, {"f": [1]})
    assert scores.loc[0, crossval.MINORITY_RECALL] == pytest.approx(0.75)  # (0.5 + 1) / 2


def test_one_split_gets_scores_but_no_verdict():
    table = crossval.verdict_table(_scores({"x": [0.1]}, BASE[:1]), rope=0.02, decision=0.95,
                                   runs=1)
    assert table.loc["x", "diff_mean"] == pytest.approx(0.1)
    assert "verdict" not in table and "p_better" not in table


def test_a_row_no_unit_trained_belongs_to_no_group():
    """Image data: the spectra-only rows stand in the tables as "not applicable" lines, with no
    record; they are neither baselines nor generated rows."""
    record = row_kinds.RowRecord
    records = {"vae (no filter)": record("vae (no filter)", row_kinds.SYNTHETIC, source="vae",
                                         filter="none")}
    names = ["vae (no filter)", row_kinds.SMOTE_ROW, "spectrum (no filter)"]
    assert row_kinds.generated_rows(records, names) == ["vae (no filter)"]
    assert row_kinds.baseline_rows(records, names) == []
