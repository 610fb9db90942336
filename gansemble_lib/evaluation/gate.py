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
its validity lies at least ``gate.validity_share`` of the way from the null to the reference.

**Diversity.** The mean pairwise pixel distance between samples of a class over that between
real train images of the class, averaged over classes (:func:`gan_checks.within_class_spread`).
A generator is *collapsed within classes* when this ratio is below ``gate.diversity_min``: it draws
near-copies of a prototype per class, whatever its validity.

Both margins are params.yaml's ``gate`` section (:class:`GateParams`, whose defaults were
declared before any result); they are the same for every generator, and every stage that gates
a generator reads them from there.
"""

from __future__ import annotations

import numpy as np

from ..core.config import GateParams

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


def shuffled_null(predicted: np.ndarray, labels: np.ndarray, *, shuffles: int, seed: int = 0
                  ) -> tuple[float, float]:
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
         judge: str, margins: GateParams, seed: int = 0) -> dict:
    """The gate record of one generator in one fold (see the module docstring)."""
    predicted, labels = np.asarray(predicted), np.asarray(labels)
    if not len(labels) or not np.isfinite(reference) or not np.isfinite(spread_ratio):
        return {VALIDITY: None, NULL: None, NULL_Q95: None, REFERENCE: None, DIVERSITY: None,
                LEARNT: None, DIVERSE: None, STATUS: NOT_MEASURABLE, JUDGE: judge}
    validity = float(np.mean(predicted == labels))
    null, null_q95 = shuffled_null(predicted, labels, seed=seed, shuffles=margins.null_shuffles)
    bar = null + margins.validity_share * (reference - null)
    # Above the bar and above what shuffled labels reach 95 % of the time.
    learnt = bool(validity >= bar and validity > null_q95)
    diverse = bool(spread_ratio >= margins.diversity_min)
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


def rules(margins: GateParams) -> str:
    """The declared margins, for reports."""
    share, minimum = margins.validity_share, margins.diversity_min
    return (f"A generator learnt its classes when its validity covers at least "
            f"{share:.0%} of the gap from the label-shuffled null to real validation "
            f"data and exceeds the null's 95th percentile; it is collapsed within classes when "
            f"samples of a class vary less than {minimum:.1f}x as much as real ones.")
