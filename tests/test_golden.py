"""Golden values: the statistics and metrics that need no training run, pinned to numbers
computed once (2026-12-04, before the library was reshaped into subpackages), so that a
refactor that changes any of them fails here at once rather than in a 16-minute pipeline run.

Each input is fixed in the test; the tolerances allow only floating-point rounding (the
t-distribution CDFs and the matrix square root are closed-form, no training is involved).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

from gansemble_lib.core.config import GateParams
from gansemble_lib.evaluation import crossval, gate

MARGINS = GateParams()  # params.yaml's gate section at its defaults


def _gate(*args, **kwargs) -> dict:
    return gate.gate(*args, margins=MARGINS, **kwargs)

DIFFS = np.array([0.031, -0.012, 0.054, 0.008, 0.027])  # five paired macro-F1 differences
EXACT = 1e-9


def test_correlated_t_test_of_five_folds():
    assert crossval.correlated_ttest(DIFFS, rope=0.02, runs=1) == pytest.approx(
        (0.03374493924348079, 0.4304111394885455, 0.5358439212679738), rel=EXACT)


def test_independent_t_test_of_five_replicates():
    assert crossval.independent_ttest(DIFFS, rope=0.02) == pytest.approx(
        (0.010105367398813033, 0.4362564062912929, 0.553638226309894), rel=EXACT)


def test_frequentist_companions():
    assert crossval.nadeau_bengio(DIFFS, runs=1) == pytest.approx(
        (1.2928454272365364, 0.2656840833649161), rel=EXACT)
    assert crossval.paired_ttest(DIFFS) == pytest.approx(
        (1.939268140854805, 0.12448199660423609), rel=EXACT)


def test_smallest_decidable_effect_of_both_designs():
    # five outer folds with per-fold sd 0.03; 40 independent replicates with the same sd
    assert crossval.smallest_decidable(0.03, 5, rope=0.02, decision=0.95) == pytest.approx(
        0.06290258898656771, rel=EXACT)
    assert crossval.smallest_decidable(0.03, 40, rope=0.02, decision=0.95,
                                       independent=True) == pytest.approx(
        0.027992064436341328, rel=EXACT)


def _labels_and_predictions():
    labels = np.repeat(np.arange(4), 5)
    predicted = labels.copy()
    predicted[[1, 6, 11, 16, 17]] = [2, 3, 0, 1, 0]  # 15 of 20 right
    return labels, predicted


def test_gate_record_of_a_generator_that_learnt_its_classes():
    labels, predicted = _labels_and_predictions()
    assert _gate(predicted, labels, reference=0.95, spread_ratio=0.6, judge="t", seed=0) == {
        "validity": 0.75, "validity_null": 0.2695, "validity_null_q95": 0.45,
        "validity_real": 0.95, "diversity": 0.6, "learnt_classes": True, "diverse": True,
        "status": "passed", "judge": "t"}


def test_gate_record_of_one_shape_for_every_label():
    labels, _ = _labels_and_predictions()
    record = _gate(np.zeros(20, int), labels, reference=0.95, spread_ratio=0.6, judge="t")
    assert record["validity"] == record["validity_null"] == 0.25
    assert record["status"] == "did not learn its classes" and not record["learnt_classes"]


def test_fid_of_two_fixed_feature_sets():
    """FID through the pinned torch-fidelity's statistics, the code path stage 05 uses."""
    rng = np.random.default_rng(7)
    a = torch.from_numpy(rng.normal(size=(64, 8)))
    b = torch.from_numpy(rng.normal(0.3, 1.2, size=(64, 8)))
    fid = fid_statistics_to_metric(fid_features_to_statistics(a), fid_features_to_statistics(b),
                                   False)["frechet_inception_distance"]
    assert fid == pytest.approx(2.530530909305959, rel=1e-6)
