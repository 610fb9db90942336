"""Verdicts across the units: is a row better than real-only, equivalent, or worse?

The units are outer folds of one dataset (design ``cv``) or independent simulated replicates,
each scored on its own fresh test set (design ``replicates``, :mod:`.units`). For replicates
the units share nothing, so the posterior of the mean paired difference is the plain Bayesian
t posterior (scale s/sqrt(R)) and the p-values come from a paired t-test; everything below
about folds is the ``cv`` design.

Each fold's stage 06 scores every row on that fold's held-out real samples. Per row and fold,
the paired difference from real-only (same fold, same classifier seeds) is the unit of
evidence; the rows are then judged across the folds with

- the **Bayesian correlated t-test** (Benavoli et al. 2017, JMLR 18(77); ``baycomp``): the
  posterior of the mean difference is a Student distribution whose variance carries the
  Nadeau–Bengio correction for the overlap of the folds' training parts. With a region of
  practical equivalence (ROPE, ``evaluation.rope``) it gives P(better), P(equivalent) and
  P(worse); a verdict needs one of them to reach ``evaluation.decision``, else "undecided";
- the **Nadeau–Bengio corrected resampled t-test** (Nadeau & Bengio 2003, Machine Learning
  52) with **Holm's** correction across the rows (``statsmodels``), for readers who want
  p-values;
- macro-F1 is the primary endpoint; the mean recall of the minority classes (train count
  below the median class, per fold) is a declared secondary endpoint, reported beside it and
  not used for the verdict.

Out-of-fold predictions are also pooled (every sample scored once per repeat, by a pipeline
that never saw it) for per-class recall and confusion matrices.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import f1_score, recall_score

from ..core.tables import frame_record
from .rows import (
    BETTER,
    EQUIVALENT,
    FOLD,
    MISSING,
    REAL_ONLY,
    ROW,
    SEED,
    UNDECIDED,
    VERDICTS,
    WORSE,
    Y_PRED,
    Y_TRUE,
)

MINORITY_RECALL = "minority_recall"


def load_predictions(folds_dir: str | Path, folds: list[str]) -> pd.DataFrame:
    """Every fold's stage-06 predictions, with a ``fold`` column."""
    frames = []
    for fold in folds:
        path = Path(folds_dir) / fold / "reports" / "tables" / "06_predictions.csv"
        if not path.is_file():
            from ..core.errors import DataError

            raise DataError(f"fold {fold} has no stage-06 predictions", path=path,
                            fix="run the folds stage (`dvc repro folds`)")
        frames.append(pd.read_csv(path).assign(**{FOLD: fold}))
    return pd.concat(frames, ignore_index=True)


def minority_classes(folds_dir: str | Path, folds: list[str]) -> dict[str, list[int]]:
    """Per fold: class indices whose train count is below the median class (the minority)."""
    out = {}
    for fold in folds:
        info = json.loads((Path(folds_dir) / fold / "data" / "prepared" / "info.json")
                          .read_text(encoding="utf-8"))
        counts = np.array([info["counts"]["train"][c] for c in info["classes"]])
        out[fold] = np.flatnonzero(counts < np.median(counts)).tolist()
    return out


def fold_scores(predictions: pd.DataFrame, n_classes: int,
                minority: dict[str, list[int]]) -> pd.DataFrame:
    """Per (fold, row): macro-F1 and minority-class recall, each the mean over seeds."""
    labels = list(range(n_classes))
    records = []
    for (fold, row, seed), g in predictions.groupby([FOLD, ROW, SEED], sort=False):
        y, p = g[Y_TRUE].to_numpy(), g[Y_PRED].to_numpy()
        recall = recall_score(y, p, labels=labels, average=None, zero_division=0)
        present = [k for k in minority[fold] if (y == k).any()]
        records.append({FOLD: fold, ROW: row, SEED: seed,
                        "macro_f1": f1_score(y, p, labels=labels, average="macro",
                                             zero_division=0),
                        MINORITY_RECALL: float(recall[present].mean()) if present else np.nan})
    per_seed = pd.DataFrame(records)
    return per_seed.groupby([FOLD, ROW], sort=False)[["macro_f1", MINORITY_RECALL]].mean() \
        .reset_index()


def posterior_scale(sd: float, n: int, *, runs: int = 1, independent: bool = False) -> float:
    """Scale of the Student posterior of the mean difference over ``n`` units.

    Independent units (simulated replicates): sd / sqrt(n). Outer folds: the correlated
    t-test's sd * sqrt(1/n + rho/(1-rho)) with rho = 1/K (Benavoli et al. 2017; K = n/runs), which
    never falls below sd / sqrt(K - 1) however many repeats.
    """
    if independent:
        return float(sd) / np.sqrt(n)
    k = n / runs
    return float(sd) * np.sqrt(1 / n + 1 / (k - 1))


def smallest_decidable(sd: float, n: int, *, rope: float, decision: float, runs: int = 1,
                       independent: bool = False) -> float:
    """The smallest true mean difference this design declares "better" in half of the runs
    (ROPE + the posterior's one-sided half-width at the decision threshold): with an observed
    mean at this value, P(difference > ROPE) equals ``decision``."""
    if n < 2 or not np.isfinite(sd):
        return float("nan")
    return float(rope + stats.t.ppf(decision, n - 1)
                 * posterior_scale(sd, n, runs=runs, independent=independent))


def independent_ttest(diffs: np.ndarray, *, rope: float) -> tuple[float, float, float]:
    """(P(worse), P(equivalent), P(better)) for independent units: the Bayesian t posterior of
    the mean (flat prior: Student, n - 1 degrees of freedom, scale s / sqrt(n)); the same as
    baycomp's correlated t-test with the correlation set to zero."""
    diffs = np.asarray(diffs, dtype=float)
    if np.ptp(diffs) == 0:
        m = float(diffs[0])
        return float(m < -rope), float(abs(m) <= rope), float(m > rope)
    posterior = stats.t(df=len(diffs) - 1, loc=diffs.mean(),
                        scale=posterior_scale(diffs.std(ddof=1), len(diffs), independent=True))
    p_worse, p_below = posterior.cdf(-rope), posterior.cdf(rope)
    return float(p_worse), float(p_below - p_worse), float(1 - p_below)


def paired_ttest(diffs: np.ndarray) -> tuple[float, float]:
    """Plain paired t statistic and two-sided p-value (independent units)."""
    diffs = np.asarray(diffs, dtype=float)
    sd = diffs.std(ddof=1)
    if sd == 0:
        return (0.0, 1.0) if diffs.mean() == 0 else (float(np.sign(diffs.mean()) * np.inf), 0.0)
    t = diffs.mean() / (sd / np.sqrt(len(diffs)))
    return float(t), float(2 * stats.t.sf(abs(t), df=len(diffs) - 1))


def correlated_ttest(diffs: np.ndarray, *, rope: float, runs: int) -> tuple[float, float, float]:
    """(P(worse), P(equivalent), P(better)) of the mean of paired fold differences.

    ``baycomp``'s correlated t-test; when every difference is the same (a row that repeats
    real-only exactly) the posterior is a point mass and the probabilities are 0 or 1.
    """
    diffs = np.asarray(diffs, dtype=float)
    if np.ptp(diffs) == 0:
        m = float(diffs[0])
        return float(m < -rope), float(abs(m) <= rope), float(m > rope)
    from baycomp import CorrelatedTTest

    p_worse, p_equivalent, p_better = CorrelatedTTest.probs(
        np.zeros_like(diffs), diffs, rope=rope, runs=runs)
    return float(p_worse), float(p_equivalent), float(p_better)


def nadeau_bengio(diffs: np.ndarray, *, runs: int) -> tuple[float, float]:
    """Corrected resampled t statistic and two-sided p-value (test/train ratio 1/(K-1))."""
    diffs = np.asarray(diffs, dtype=float)
    n = len(diffs)
    k = n / runs
    var = diffs.var(ddof=1) * (1 / n + 1 / (k - 1))
    if var == 0:
        return (0.0, 1.0) if diffs.mean() == 0 else (float(np.sign(diffs.mean()) * np.inf), 0.0)
    t = diffs.mean() / np.sqrt(var)
    return float(t), float(2 * stats.t.sf(abs(t), df=n - 1))


def verdict(p_worse: float, p_equivalent: float, p_better: float, decision: float) -> str:
    for name, p in ((BETTER, p_better), (WORSE, p_worse), (EQUIVALENT, p_equivalent)):
        if p >= decision:
            return name
    return UNDECIDED


def verdict_table(scores: pd.DataFrame, *, rope: float, decision: float, runs: int,
                  baseline: str = REAL_ONLY, independent: bool = False) -> pd.DataFrame:
    """One line per row: scores across units, paired differences, probabilities, verdict, and
    the smallest effect the design can decide at this row's spread (``smallest_decidable``).

    ``independent``: the units are independent simulated replicates (the Bayesian t posterior
    and a plain paired t-test); otherwise outer folds (the correlated t-test and the
    Nadeau-Bengio corrected t-test). With a single unit (one split) there is nothing to judge
    across: no probabilities, no verdict columns.
    """
    from statsmodels.stats.multitest import multipletests

    folds = scores[FOLD].unique().tolist()
    judged = len(folds) >= 2
    wide = scores.pivot(index=FOLD, columns=ROW, values="macro_f1").loc[folds]
    minority = scores.pivot(index=FOLD, columns=ROW, values=MINORITY_RECALL).loc[folds]
    order = list(dict.fromkeys(scores[ROW]))
    out = []
    for row in order:
        line = {ROW: row, "macro_f1_mean": wide[row].mean(), "macro_f1_sd": wide[row].std(),
                "folds_scored": int(wide[row].notna().sum())}
        if row != baseline:
            diffs = (wide[row] - wide[baseline]).dropna()
            line.update(diff_mean=diffs.mean(), diff_sd=diffs.std())
            if not judged:
                pass
            elif len(diffs) < len(folds):
                line["verdict"] = MISSING
            else:
                if independent:
                    pw, pe, pb = independent_ttest(diffs.to_numpy(), rope=rope)
                    t, p = paired_ttest(diffs.to_numpy())
                else:
                    pw, pe, pb = correlated_ttest(diffs.to_numpy(), rope=rope, runs=runs)
                    t, p = nadeau_bengio(diffs.to_numpy(), runs=runs)
                line.update(p_better=pb, p_equivalent=pe, p_worse=pw,
                            verdict=verdict(pw, pe, pb, decision), t=t, p_value=p,
                            smallest_decidable=smallest_decidable(
                                diffs.std(), len(diffs), rope=rope, decision=decision,
                                runs=runs, independent=independent))
            md = (minority[row] - minority[baseline]).dropna()
            line["minority_recall_diff"] = md.mean() if len(md) else np.nan
            line["minority_recall_diff_sd"] = md.std() if len(md) > 1 else np.nan
        out.append(line)
    table = pd.DataFrame(out).set_index(ROW)
    if not judged:
        return table
    for column in ("p_better", "p_equivalent", "p_worse", "verdict", "t", "p_value",
                   "smallest_decidable"):
        if column not in table:
            table[column] = np.nan
    tested = table["p_value"].notna()
    table["p_holm"] = np.nan
    if tested.any():
        table.loc[tested, "p_holm"] = multipletests(table.loc[tested, "p_value"],
                                                    method="holm")[1]
    return table


def pooled_recall(predictions: pd.DataFrame, classes: tuple[str, ...]) -> pd.DataFrame:
    """Per-class recall from the pooled out-of-fold predictions (every seed's prediction)."""
    labels = list(range(len(classes)))
    rows = {row: recall_score(g[Y_TRUE], g[Y_PRED], labels=labels, average=None,
                              zero_division=0)
            for row, g in predictions.groupby(ROW, sort=False)}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(classes))


def conclusion(table: pd.DataFrame, *, synthetic_rows: list[str], baseline_rows: list[str],
               rope: float, folds: int, repeats: int, decision: float,
               failed_rows: dict[str, str] | None = None, replicates: bool = False) -> str:
    """Plain sentences from the verdicts: what helped, what was equivalent, what hurt.

    ``failed_rows`` ({row: why}) are rows whose generator failed the gate: they are listed on
    their own, so a verdict about a failed generator is never read as one about synthetic data.
    """
    failed_rows = failed_rows or {}
    design = (f"{folds}-fold cross-validation x {repeats} repeat(s), ROPE +-{rope} macro-F1, "
              f"verdict at posterior probability >= {decision}")
    if "verdict" not in table:
        return f"Only one split ({design}): no verdicts; see the in-split bootstrap table."
    if replicates:
        design = (f"{folds} independent simulated replicates, each scored on its own fresh "
                  f"test set, ROPE +-{rope} macro-F1, verdict at posterior probability >= "
                  f"{decision}")
    parts = [f"Across the {'replicates' if replicates else 'outer folds'} ({design}):"]
    working = [r for r in synthetic_rows if r not in failed_rows]
    failed = [r for r in synthetic_rows if r in failed_rows]
    for group, names in (("synthetic-data rows whose generator passed the gate", working),
                         ("rows whose generator FAILED the gate (they measure a failed "
                          "generator, not synthetic data)", failed),
                         ("rows without a generator", baseline_rows)):
        present = table.loc[[r for r in names if r in table.index]]
        if present.empty:
            continue
        counts = present["verdict"].value_counts()
        listing = "; ".join(f"{v}: {', '.join(present.index[present['verdict'] == v])}"
                            for v in VERDICTS
                            if counts.get(v))
        parts.append(f"{group} - {listing}.")
    base = table.loc[[r for r in baseline_rows if r in table.index and
                      pd.notna(table.loc[r, "diff_mean"])]]
    if not base.empty:
        best = base["diff_mean"].idxmax()
        parts.append(f"The strongest baseline without a generator is {best} "
                     f"({base.loc[best, 'diff_mean']:+.3f} macro-F1 vs real-only, "
                     f"verdict {base.loc[best, 'verdict']}).")
    return " ".join(parts)


def family_verdicts(scores: pd.DataFrame, families: dict[str, list[str]], *, rope: float,
                    decision: float, runs: int, independent: bool = False) -> pd.DataFrame:
    """Verdicts of each spectrum classifier with synthetic spectra against the same classifier
    on real spectra only (not against the image CNN): one block per classifier."""
    blocks = []
    for base, rows in families.items():
        if not rows or base not in set(scores[ROW]):
            continue
        part = scores[scores[ROW].isin([base, *rows])]
        table = verdict_table(part, rope=rope, decision=decision, runs=runs, baseline=base,
                              independent=independent)
        blocks.append(table.assign(classifier=base))
    return pd.concat(blocks) if blocks else pd.DataFrame()


def first_look(scores: pd.DataFrame, units: list[str], *, excluded: set[str],
               families: dict[str, list[str]], rope: float, decision: float) -> dict:
    """The verdicts over the first replicates only (``units``), a look planned before the run:
    the image rows (without ``excluded``: the spectrum classifiers' and oracle rows) against
    real-only, and each spectrum classifier's rows against itself on real spectra; the test
    for independent units. Needs at least two units."""
    if len(units) < 2:
        raise ValueError(f"a look at {len(units)} unit(s) cannot judge anything; use >= 2")
    missing = sorted(set(units) - set(scores[FOLD]))
    if missing:
        raise ValueError(f"no scores for the unit(s) {', '.join(missing)}")
    looked = scores[scores[FOLD].isin(units)]
    images = verdict_table(looked[~looked[ROW].isin(excluded)], rope=rope, decision=decision,
                           runs=1, independent=True)
    spectra = family_verdicts(looked, families, rope=rope, decision=decision, runs=1,
                              independent=True)
    return {"replicates": len(units), "units": list(units), "rows": frame_record(images),
            "spectrum_classifiers": {"rows": frame_record(spectra)}}


def family_statement(table: pd.DataFrame, *, failed_rows: dict[str, str]) -> str:
    """Plain words per spectrum classifier: its real-only score and its verdicts with
    synthetic spectra (rows of failed generators named as such)."""
    if table.empty:
        return "No spectrum classifier rows (the data are images, or no synthetic set)."
    parts = []
    for base, block in table.groupby("classifier", sort=False):
        real = block.loc[base, "macro_f1_mean"]
        others = block.drop(index=base)
        if "verdict" not in others:
            listing = "; ".join(f"{r}: {d:+.3f}" for r, d in others["diff_mean"].items())
        else:
            def named(row: str) -> str:
                return f"{row} [generator failed the gate]" if row in failed_rows else row
            listing = "; ".join(
                f"{v}: " + ", ".join(named(r) for r in others.index[others["verdict"] == v])
                for v in VERDICTS
                if (others["verdict"] == v).any())
        parts.append(f"{base}: {real:.3f} on real spectra; with synthetic spectra - {listing}.")
    return " ".join(parts)


def confusion_rows(verdicts: pd.DataFrame, *, synthetic_rows: list[str],
                   baseline_rows: list[str], failed_rows: dict[str, str]) -> dict[str, str]:
    """{row: what it is} for the confusion figure: real-only, the baseline with the highest
    mean difference, and the generator row with the highest one among generators that passed
    the gate (``synthetic_rows``: the caller leaves train-on-synthetic rows out); a group with
    no such row is left out."""
    def best(rows: list[str]) -> str | None:
        rows = [r for r in rows if r in verdicts.index and pd.notna(verdicts.loc[r, "diff_mean"])]
        return max(rows, key=lambda r: verdicts.loc[r, "diff_mean"]) if rows else None

    shown = {REAL_ONLY: "real data only"}
    baseline = best(baseline_rows)
    if baseline:
        shown[baseline] = "best baseline (no generator)"
    passing = best([r for r in synthetic_rows if r not in failed_rows])
    if passing:
        shown[passing] = "best row of a generator that passed the gate"
    return shown
