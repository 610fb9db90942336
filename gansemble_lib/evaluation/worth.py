"""What a row is worth in real spectra: the oracle rows' names and the learning curve they
trace (stage 06b), read backwards for every row (simulated data only; :mod:`.oracle` makes
the rows in stage 06)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .rows import ORACLE, REAL_ONLY, RowRecord

PREFIX = "oracle: "
BEST_BASELINE = "best baseline"
BEST_GENERATOR = "best generator"
CURVES = (REAL_ONLY, BEST_BASELINE, BEST_GENERATOR)
HELD_OUT, FRESH_TEST = "held-out folds", "fresh simulated test set"  # the two test sets
NOT_SIMULATED = ("the data do not come from the simulator (no `simulation` in "
                 "data/prepared/info.json): more real data cannot be drawn, so there are no "
                 "oracle rows, learning curve or fresh test set")


def row_name(curve: str, k: int) -> str:
    return f"{PREFIX}{curve} + {k} fresh simulated spectra per class"


def record(curve: str, k: int) -> RowRecord:
    return RowRecord(row_name(curve, k), ORACLE, curve=curve, k=k)


def learning_curve(scores: pd.DataFrame, *, ks: tuple[int, ...] = ()) -> pd.DataFrame:
    """Macro-F1 (mean and sd across folds) for every curve and k, from per-(fold, row) scores
    (``crossval.fold_scores``). k = 0 of the real-only curve is the real-only row itself."""
    wide = scores.pivot(index="fold", columns="row", values="macro_f1")
    lines = []
    for curve in CURVES:
        for k in (0, *ks):
            row = REAL_ONLY if (curve == REAL_ONLY and k == 0) else row_name(curve, k)
            if row not in wide:
                continue
            values = wide[row].dropna()
            lines.append({"curve": curve, "k": k, "macro_f1_mean": values.mean(),
                          "macro_f1_sd": values.std() if len(values) > 1 else np.nan,
                          "folds": len(values)})
    return pd.DataFrame(lines, columns=["curve", "k", "macro_f1_mean", "macro_f1_sd", "folds"])


def worth(score: float, curve: pd.DataFrame) -> float:
    """How many fresh real spectra per class real-only training needs to reach ``score``: the
    real-only learning curve, made monotone by isotonic regression (the least-squares
    non-decreasing fit), read backwards by linear interpolation. -inf below real-only, +inf
    above the largest k (the curve says no more)."""
    from sklearn.isotonic import IsotonicRegression

    own = curve[curve["curve"] == REAL_ONLY].sort_values("k")
    if own.empty or not np.isfinite(score):
        return float("nan")
    ks = own["k"].to_numpy(float)
    level = IsotonicRegression().fit_transform(ks, own["macro_f1_mean"].to_numpy(float))
    if score < level[0]:
        return float("-inf")
    if score > level[-1]:
        return float("inf")
    for i in range(len(ks)):  # the first k whose level reaches the score
        if level[i] >= score:
            if i == 0 or level[i] == level[i - 1]:
                return float(ks[i])
            return float(ks[i - 1] + (score - level[i - 1]) / (level[i] - level[i - 1])
                         * (ks[i] - ks[i - 1]))
    return float(ks[-1])


def worth_per_unit(scores: pd.DataFrame, ks: tuple[int, ...]) -> pd.DataFrame:
    """Each row's worth read off each unit's own learning curve: rows x units (``scores``: per
    (fold, row) macro-F1, ``crossval.fold_scores``)."""
    out = {}
    for unit, part in scores.groupby("fold", sort=False):
        curve = learning_curve(part, ks=ks)
        out[unit] = {row: worth(value, curve)
                     for row, value in zip(part["row"], part["macro_f1"], strict=True)}
    return pd.DataFrame(out)


def worth_summary(values: np.ndarray, largest: int) -> str:
    """Median and the 10-90 % range (observed values) of one row's worth across units."""
    values = np.asarray([v for v in values if not np.isnan(v)], dtype=float)
    if not len(values):
        return ""
    low, mid, high = np.quantile(values, [0.1, 0.5, 0.9], method="inverted_cdf")
    return (f"{worth_text(mid, largest)} ({worth_text(low, largest)} to "
            f"{worth_text(high, largest)})")


def worth_text(value: float, largest: int) -> str:
    if np.isnan(value):
        return ""
    if value == float("-inf"):
        return "below real-only"
    if value == float("inf"):
        return f"more than +{largest}"
    return f"+{value:.1f}"
