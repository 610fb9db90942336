"""The generator gate: did a generator learn its classes, and their variety?

A row of stage 06 that adds a generator's samples can only say something about "synthetic
data" if the generator works; otherwise it measures a failed generator. The gate asks two
questions of every generator on held-in data (train and validation, never the test part):

**Validity.** Each sample gets a predicted class from a judge that knows only real train data
(spectra: the class whose mean decoded train spectrum it correlates with best; images: a
classifier trained on the train split). Validity is the share predicted as the class the
sample was generated for. A generator that ignores its label still reaches some share by
chance, so the same share is computed with the labels shuffled among the samples (the
*label-shuffled null*: same samples, same judge, conditioning broken). The reference is the
share real validation data reach with the same judge. A generator *learnt its classes* when
its validity lies at least ``VALIDITY_SHARE`` of the way from the null to the reference.

**Diversity.** The mean pairwise pixel distance between samples of a class over that between
real train images of the class, averaged over classes (:func:`gan_checks.within_class_spread`).
A generator is *collapsed within classes* when this ratio is below ``DIVERSITY_MIN``: it draws
near-copies of a prototype per class, whatever its validity.

Both margins are declared here, before any result, and are the same for every generator.
"""

from __future__ import annotations

import numpy as np

VALIDITY_SHARE = 0.5  # validity must cover at least half the gap from the null to real data
DIVERSITY_MIN = 0.5  # within-class spread at least half of real data's
NULL_SHUFFLES = 200  # label permutations for the null

PASSED = "passed"
NO_CLASSES = "did not learn its classes"
COLLAPSED = "collapsed within classes"
NOT_MEASURABLE = "not measurable"  # no samples, no validation data, or no class with two images
NOT_GATED = "not gated"  # no gate record (e.g. a fold run before the gate existed)

# Keys of the gate record (reports/metrics/03_*.json, "gate")
VALIDITY, NULL, NULL_Q95, REFERENCE = ("validity", "validity_null", "validity_null_q95",
                                       "validity_real")
DIVERSITY, LEARNT, DIVERSE, STATUS = "diversity", "learnt_classes", "diverse", "status"
JUDGE = "judge"


def shuffled_null(predicted: np.ndarray, labels: np.ndarray, *, seed: int = 0,
                  shuffles: int = NULL_SHUFFLES) -> tuple[float, float]:
    """Mean and 95th percentile of validity with the labels permuted among the samples."""
    rng = np.random.default_rng(seed)
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    shares = np.array([np.mean(predicted == rng.permutation(labels)) for _ in range(shuffles)])
    return float(shares.mean()), float(np.quantile(shares, 0.95))


def status(learnt: bool, diverse: bool) -> str:
    """One label: passed, or which check failed (both when both did)."""
    failures = [text for ok, text in ((learnt, NO_CLASSES), (diverse, COLLAPSED)) if not ok]
    return "; ".join(failures) or PASSED


def gate(predicted: np.ndarray, labels: np.ndarray, *, reference: float, spread_ratio: float,
         judge: str, seed: int = 0) -> dict:
    """The gate record of one generator in one fold (see the module docstring)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if not len(labels) or not np.isfinite(reference) or not np.isfinite(spread_ratio):
        return {VALIDITY: None, NULL: None, NULL_Q95: None, REFERENCE: None, DIVERSITY: None,
                LEARNT: None, DIVERSE: None, STATUS: NOT_MEASURABLE, JUDGE: judge}
    validity = float(np.mean(predicted == labels))
    null, null_q95 = shuffled_null(predicted, labels, seed=seed)
    bar = null + VALIDITY_SHARE * (reference - null)
    # Above the bar and above what shuffled labels reach 95 % of the time.
    learnt = bool(validity >= bar and validity > null_q95)
    diverse = bool(spread_ratio >= DIVERSITY_MIN)
    return {VALIDITY: round(validity, 4), NULL: round(null, 4), NULL_Q95: round(null_q95, 4),
            REFERENCE: round(float(reference), 4), DIVERSITY: round(float(spread_ratio), 4),
            LEARNT: learnt, DIVERSE: diverse, STATUS: status(learnt, diverse), JUDGE: judge}


def statement(name: str, record: dict) -> str:
    """The gate result of one generator in one sentence."""
    if record[STATUS] == NOT_MEASURABLE:
        return f"{name}: the gate could not be measured (no samples or no reference data)"
    return (f"{name}: validity {record[VALIDITY]:.2f} (label-shuffled null {record[NULL]:.2f}, "
            f"real validation data {record[REFERENCE]:.2f}; judge: {record[JUDGE]}), "
            f"within-class diversity {record[DIVERSITY]:.2f}x real -> {record[STATUS]}")


def rules() -> str:
    """The declared margins, for reports."""
    return (f"A generator learnt its classes when its validity covers at least "
            f"{VALIDITY_SHARE:.0%} of the gap from the label-shuffled null to real validation "
            f"data and exceeds the null's 95th percentile; it is collapsed within classes when "
            f"samples of a class vary less than {DIVERSITY_MIN:.1f}x as much as real ones.")
