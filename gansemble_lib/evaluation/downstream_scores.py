"""What stage 06 reports of its rows: scores per row, per-class recall, the paired bootstrap
of every row's difference from real-only, and the stage's words and metrics record."""


from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import recall_score

from .classifiers import (
    classification_scores,
)
from .downstream import DOWNSTREAM_SCORES
from .rows import (
    REAL_ONLY,
    ROW,
    SAMPLE,
    SEED,
    Y_PRED,
    Y_TRUE,
)


def save_predictions(predictions: pd.DataFrame, sample_ids: np.ndarray, path: str) -> None:
    """Write the predictions with each held-out sample's id (to pool them across folds)."""
    from ..core.io_utils import write_text

    out = predictions.drop(columns=["seconds"]).assign(
        sample_id=sample_ids[predictions[SAMPLE].to_numpy()])
    write_text(path, out.to_csv(index=False, lineterminator="\n"))


def scores(predictions: pd.DataFrame, n_classes: int) -> pd.DataFrame:
    """Per row: mean and sd over seeds of accuracy, balanced accuracy and macro-F1."""
    per_seed = pd.DataFrame([
        {ROW: row, SEED: seed, **classification_scores(g[Y_TRUE].to_numpy(),
                                                       g[Y_PRED].to_numpy(), n_classes)}
        for (row, seed), g in predictions.groupby([ROW, SEED], sort=False)])
    table = per_seed.groupby(ROW, sort=False)[list(DOWNSTREAM_SCORES)].agg(["mean", "std"])
    table.columns = [f"{metric}_{stat}" for metric, stat in table.columns]
    return table


def per_class_recall(predictions: pd.DataFrame, classes: tuple[str, ...]) -> pd.DataFrame:
    """Recall per class (columns) for every row (index), averaged over seeds."""
    labels = list(range(len(classes)))
    rows = {}
    for row, group in predictions.groupby(ROW, sort=False):
        per_seed = [recall_score(g[Y_TRUE], g[Y_PRED], labels=labels, average=None,
                                 zero_division=0) for _, g in group.groupby(SEED)]
        rows[row] = np.mean(per_seed, axis=0)
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(classes))


def macro_f1_rows(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Macro-F1 of each row of ``y_pred`` (R, T) against ``y_true`` (T,), vectorised.

    Same definition as scikit-learn's ``f1_score(average="macro", zero_division=0)`` over all
    ``n_classes`` labels (a test checks the agreement); fast enough for thousands of
    bootstrap draws.
    """
    rows = y_pred.shape[0]
    codes = (np.arange(rows)[:, None] * n_classes + y_true[None, :]) * n_classes + y_pred
    cm = np.bincount(codes.ravel(), minlength=rows * n_classes**2).reshape(
        rows, n_classes, n_classes)
    tp = np.diagonal(cm, axis1=1, axis2=2)
    denominator = cm.sum(axis=1) + cm.sum(axis=2)  # (tp + fp) + (tp + fn)
    f1 = np.divide(2 * tp, denominator, out=np.zeros(tp.shape), where=denominator > 0)
    return f1.mean(axis=1)


def paired_bootstrap(predictions: pd.DataFrame, *, n_classes: int, baseline: str = REAL_ONLY,
                     n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Difference in macro-F1 of each row from ``baseline`` with a paired bootstrap interval.

    Each bootstrap draw resamples seeds and test images with replacement and applies the same
    draw to every row (all rows share seeds and test images), then averages macro-F1 over the
    drawn seeds. The interval is the percentile interval of the differences.
    """
    rng = np.random.default_rng(seed)
    seeds = np.sort(predictions[SEED].unique())
    n_test = int(predictions[SAMPLE].max()) + 1
    grids = {row: g.sort_values([SEED, SAMPLE]) for row, g in predictions.groupby(ROW, sort=False)}
    y_true = grids[baseline][Y_TRUE].to_numpy()[:n_test]
    preds = {row: g[Y_PRED].to_numpy().reshape(len(seeds), n_test) for row, g in grids.items()}
    draws = [(rng.integers(0, len(seeds), len(seeds)), rng.integers(0, n_test, n_test))
             for _ in range(n_boot)]

    def mean_f1(p: np.ndarray, seed_idx: np.ndarray, test_idx: np.ndarray) -> float:
        return float(macro_f1_rows(y_true[test_idx], p[seed_idx][:, test_idx], n_classes).mean())

    everything = (np.arange(len(seeds)), np.arange(n_test))
    base = preds[baseline]
    base_boot = np.array([mean_f1(base, s, t) for s, t in draws])
    out = []
    for row, p in preds.items():
        if row == baseline:
            continue
        boot = np.array([mean_f1(p, s, t) for s, t in draws]) - base_boot
        lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
        out.append({ROW: row, "diff_macro_f1": mean_f1(p, *everything) - mean_f1(base, *everything),
                    "ci_low": float(lo), "ci_high": float(hi),
                    "excludes_zero": bool(lo > 0 or hi < 0)})
    return pd.DataFrame(out).set_index(ROW)


def conclusion(differences: pd.DataFrame, *, synthetic_rows: list[str],
               baseline_rows: list[str] = ()) -> str:
    """One plain sentence per finding, from the bootstrap table only.

    Beating real-only is not enough to say a generator is worth it, so the best classical
    baseline (``baseline_rows``: re-weighting, oversampling, augmentation, SMOTE) is named too.
    """
    synthetic = differences.loc[[r for r in synthetic_rows if r in differences.index]]
    gains = synthetic[(synthetic["excludes_zero"]) & (synthetic["diff_macro_f1"] > 0)]
    losses = synthetic[(synthetic["excludes_zero"]) & (synthetic["diff_macro_f1"] < 0)]
    if synthetic.empty:
        return "No synthetic-data rows were evaluated."
    parts = []
    if gains.empty:
        parts.append(f"No synthetic-data row ({len(synthetic)} evaluated) improved macro-F1 over "
                     "real-only training with a 95 % paired bootstrap interval excluding zero: "
                     "no significant gain.")
    else:
        parts.append("Significant macro-F1 gains over real-only: " + ", ".join(
            f"{r} ({d:+.3f}, 95 % CI {lo:+.3f} to {hi:+.3f})" for r, (d, lo, hi) in
            gains[["diff_macro_f1", "ci_low", "ci_high"]].iterrows()) + ".")
    if not losses.empty:
        parts.append("Significantly worse than real-only: " + ", ".join(
            f"{r} ({d:+.3f})" for r, d in losses["diff_macro_f1"].items()) + ".")
    classical = differences.loc[[r for r in baseline_rows if r in differences.index]]
    if not classical.empty:
        best = classical["diff_macro_f1"].idxmax()
        margin = classical.loc[best, "diff_macro_f1"]
        ahead = synthetic[synthetic["diff_macro_f1"] > margin].index.tolist()
        parts.append(f"The best data-only baseline without a generator is {best} "
                     f"({margin:+.3f}); " + (
                         "synthetic rows with a larger point estimate: " + ", ".join(ahead)
                         if ahead else "no synthetic row has a larger point estimate") +
                     " (point estimates; their intervals overlap unless the table says so).")
    return " ".join(parts)


def stage_summary(table: pd.DataFrame) -> str:
    """One line for the terminal: real-only's score and how many rows beat it clearly."""
    real = table.loc[REAL_ONLY, "macro_f1_mean"]
    excludes = table["excludes_zero"].fillna(False).astype(bool) if "excludes_zero" in table \
        else pd.Series(False, index=table.index)
    better = int(((table["diff_macro_f1"].astype(float) > 0) & excludes).sum())
    worse = int(((table["diff_macro_f1"].astype(float) < 0) & excludes).sum())
    scored = int(table["macro_f1_mean"].notna().sum())
    return (f"{scored} rows scored; real-only macro-F1 {float(real):.3f}; interval above zero: "
            f"{better} rows, below zero: {worse}")


def metrics_record(table: pd.DataFrame, statement: str, *, minority: list[str],
                   seeds: list[int], classifier: str, emptied: list[str] = (),
                   budget: str = "") -> dict:
    """The JSON DVC tracks for stage 06: every row's scores and difference, and the verdict."""
    rows = {}
    for name, values in table.iterrows():
        rows[str(name)] = {key: (None if pd.isna(v) else bool(v) if isinstance(v, bool | np.bool_)
                                 else v if isinstance(v, str) else float(v))
                           for key, v in values.items()}
    return {"rows": rows, "row_order": list(rows), "conclusion": statement,
            "minority_classes": minority,
            "seeds": seeds, "classifier": classifier, "budget": budget, "baseline": REAL_ONLY,
            "emptied_by_filter": list(emptied),
            "test_split": "real test split (never used for training or selection)"}
