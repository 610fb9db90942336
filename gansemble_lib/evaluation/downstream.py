"""Stage 06: does synthetic data help a classifier? Same classifier, same budget, only data differ.

Every row trains on the real train split plus one kind of extra data (or a re-weighting), over
several seeds, and is tested on the untouched real test split. Differences from the real-only
row come with a paired bootstrap interval that resamples both test images and seeds, so a
"gain" has to survive both sources of noise before the report calls it one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import recall_score

from ..augment.images import oversample
from ..augment.spectra import SpectralSource
from ..core.constants import ACCURACY, BALANCED_ACCURACY, MACRO_F1
from ..core.progress import bar as progress_bar
from .classifiers import (
    TrainSettings,
    classification_scores,
    make_classifier,
    predict,
    to_tensor,
    train_classifier,
)
from .rows import (
    AUGMENTATION_ROW,
    BASELINE,
    CNN_ROW,
    COMBO,
    LOGREG_ROW,
    NN_ROW,
    REAL,
    REAL_ONLY,
    REFERENCE,
    ROW,
    SAMPLE,
    SEED,
    SMOTE_ROW,
    SPECTRAL_AUG_ROW,
    SPECTRUM_CLASSIFIERS,
    SYNTHETIC,
    TSTR,
    Y_PRED,
    Y_TRUE,
    RowRecord,
    set_row_name,
    spectrum_row_name,
)

DOWNSTREAM_SCORES = (ACCURACY, BALANCED_ACCURACY, MACRO_F1)


@dataclass(frozen=True)
class Row:
    """One training recipe: real train data plus ``extra`` images, optionally class-weighted.

    ``real=False`` trains on ``extra`` alone (train on synthetic, test on real: TSTR).
    ``augment_strategy`` applies an ordinary augmentation to the real images on top (a
    generator + ordinary augmentation row). ``info`` says what the row is (:mod:`.rows`).
    """

    name: str
    extra_images: np.ndarray | None = None
    extra_labels: np.ndarray | None = None
    class_weighted: bool = False
    real: bool = True
    augment_strategy: int | None = None
    augment_target: int = 0
    info: RowRecord | None = None


BASELINE_SOURCES = ("augmentation", "smote")  # stage 04 sources that are not generators


def build_rows(sets: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]], train_y: np.ndarray,
               *, chosen: dict, n_classes: int, tstr_source: str,
               combo_sources: tuple[str, ...]) -> list[Row]:
    """Every row of the comparison, each with its record (``Row.info``).

    ``sets`` are stage 04's filtered sets keyed by (source, filter); ``chosen`` is stage 02's
    choice (strategy and N), which defines ordinary augmentation.
    """
    largest = int(np.bincount(train_y, minlength=n_classes).max())
    rows = [Row(REAL_ONLY, info=RowRecord(REAL_ONLY, REAL)),
            Row("class-weighted loss", class_weighted=True,
                info=RowRecord("class-weighted loss", BASELINE)),
            Row("random oversampling", augment_strategy=0, augment_target=largest,
                info=RowRecord("random oversampling", BASELINE)),
            Row(AUGMENTATION_ROW, augment_strategy=int(chosen["strategy"]),
                augment_target=int(chosen["n"]),
                info=RowRecord(AUGMENTATION_ROW, BASELINE, source="augmentation"))]
    if chosen.get("spectral"):  # the best label-preserving candidate, whatever won overall
        rows.append(Row(SPECTRAL_AUG_ROW, augment_strategy=int(chosen["spectral"]["strategy"]),
                        augment_target=int(chosen["spectral"]["n"]),
                        info=RowRecord(SPECTRAL_AUG_ROW, BASELINE, source="augmentation")))
    if ("smote", "none") in sets:
        rows.append(Row(SMOTE_ROW, *sets[("smote", "none")],
                        info=RowRecord(SMOTE_ROW, BASELINE, source="smote", filter="none")))
    for (source, filter_name), (images, labels) in sets.items():
        if source in BASELINE_SOURCES or len(images) == 0:
            continue  # an empty set would only repeat real-only; listed by empty_sets()
        name = set_row_name(source, filter_name)
        rows.append(Row(name, images, labels, info=RowRecord(name, SYNTHETIC, source=source,
                                                             filter=filter_name)))
    for key, kind in (*((c, COMBO) for c in combo_sources), (tstr_source, TSTR)):
        source, _, filter_name = key.partition("__")
        if (source, filter_name) not in sets:
            raise ValueError(f"{kind} source {key!r} is not among the stage-04 sets "
                             f"{sorted('__'.join(k) for k in sets)}")
        images, labels = sets[(source, filter_name)]
        name = set_row_name(source, filter_name)
        name = f"{name} + ordinary augmentation" if kind == COMBO else f"TSTR: {name} only"
        info = RowRecord(name, kind, source=source, filter=filter_name)
        if kind == COMBO:
            rows.append(Row(name, images, labels, augment_strategy=int(chosen["strategy"]),
                            augment_target=int(chosen["n"]), info=info))
        else:
            rows.append(Row(name, images, labels, real=False, info=info))
    return rows


def empty_sets(sets: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]) -> list[str]:
    """Generator sets a filter emptied completely (they get no row of their own)."""
    return [set_row_name(*key) for key, (images, _) in sets.items()
            if key[0] not in BASELINE_SOURCES and len(images) == 0]


def class_weights(labels: np.ndarray, n_classes: int) -> torch.Tensor:
    """Inverse-frequency weights (mean 1) for a class-weighted loss."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


def training_data(row: Row, images: np.ndarray, labels: np.ndarray, *, seed: int,
                  source: SpectralSource | None = None) -> tuple[np.ndarray, np.ndarray]:
    parts_x, parts_y = [], []
    if row.real:
        x, y = images, labels
        if row.augment_strategy is not None:
            x, y, _ = oversample(x, y, target=row.augment_target, strategy=row.augment_strategy,
                                 seed=np.random.SeedSequence([seed, row.augment_strategy]),
                                 source=source)
        parts_x.append(x)
        parts_y.append(y)
    if row.extra_images is not None and len(row.extra_images):
        parts_x.append(row.extra_images)
        parts_y.append(row.extra_labels)
    if not parts_x:
        raise ValueError(f"row {row.name!r} has no training data")
    return np.concatenate(parts_x), np.concatenate(parts_y)


def run_rows(rows: list[Row], train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray,
             test_y: np.ndarray, *, seeds: list[int], classifier: str, size: int,
             settings: TrainSettings, n_classes: int, device: torch.device,
             weights_path: str | None = None, progress: bool = True,
             source: SpectralSource | None = None,
             also_test: tuple[np.ndarray, np.ndarray] | None = None,
             also_scores: list[dict] | None = None) -> pd.DataFrame:
    """Predictions of every (row, seed) on the test split, one line per test image.

    ``source`` (the train spectra) serves rows that use a spectral augmentation strategy.
    ``also_test`` (images, labels), a second test set (the simulator's fresh one), is scored by
    the same trained classifiers; one record per (row, seed) is appended to ``also_scores``."""
    test = to_tensor(test_x, size)
    also = None if also_test is None or not len(also_test[1]) else to_tensor(also_test[0], size)
    frames = []
    jobs = [(row, seed) for row in rows for seed in seeds]
    for row, seed in progress_bar(jobs, desc="downstream", unit="run",
                                     disable=not progress):
        started = time.perf_counter()
        x, y = training_data(row, train_x, train_y, seed=seed, source=source)
        tensor = to_tensor(x, size)
        torch.manual_seed(seed)  # same initial weights for every row of a seed: paired runs
        model = make_classifier(classifier, in_channels=tensor.shape[1], n_classes=n_classes,
                                size=size, weights_path=weights_path)
        weights = class_weights(y, n_classes) if row.class_weighted else None
        train_classifier(model, tensor, y, settings=settings, seed=seed, device=device,
                         class_weights=weights)
        frames.append(pd.DataFrame({
            ROW: row.name, SEED: seed, SAMPLE: np.arange(len(test_y)), Y_TRUE: test_y,
            Y_PRED: predict(model, test, device=device), "seconds": time.perf_counter() - started,
            "n_train": len(y)}))
        if also is not None and also_scores is not None:
            truth = also_test[1]
            also_scores.append({ROW: row.name, SEED: seed, **classification_scores(
                truth, predict(model, also, device=device), n_classes)})
    return pd.concat(frames, ignore_index=True)


CNN_POINTS = 256  # the 1-D CNN sees spectra resampled to this many points


def unit_spectra(spectra: np.ndarray) -> np.ndarray:
    """Each spectrum min-max scaled to [0, 1], as the polar rendering sees it."""
    x = np.asarray(spectra, dtype=np.float64)
    low = x.min(axis=1, keepdims=True)
    span = x.max(axis=1, keepdims=True) - low
    return (x - low) / np.where(span > 0, span, 1.0)


def spectrum_extra_sets(sets: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
                        native: dict[tuple[str, str], np.ndarray], *, geometry, points: int,
                        combo_sources: tuple[str, ...]
                        ) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, int],
                                   dict[str, tuple[str, str]]]:
    """Synthetic spectra for the spectrum classifiers, by name; how many images of each set had
    to be left out; and the (source, filter) of each name.

    A source's own spectra where it has them (SMOTE, the spectrum GAN: "native"), else its
    images read back to spectra (:func:`polar.decode`: "decoded"). Every generator's unfiltered
    set, and the GANsemble sets (``combo_sources``); ordinary augmentation is an image operation
    and is left out. Images without any ink decode to nothing: they are left out and counted
    ({set name: images left out}; the notebook prints it).
    """
    from ..data.polar import decode, resample_to

    out = {}
    dropped = {}
    origin = {}
    for (source, filter_name), (images, labels) in sets.items():
        key = f"{source}__{filter_name}"
        if source == "augmentation" or not len(images) or (
                filter_name != "none" and key not in combo_sources):
            continue
        if (source, filter_name) in native:
            if len(native[(source, filter_name)]) != len(labels):
                raise ValueError(f"{key}: {len(native[(source, filter_name)])} spectra for "
                                 f"{len(labels)} images; rerun the symp_filter stage")
            spectra, how = resample_to(native[(source, filter_name)], points), "native"
        else:
            spectra, how = decode(images, geometry=geometry, points=points), "decoded"
        name = "SMOTE spectra" if source == "smote" else f"{set_row_name(source, filter_name)}" \
            f", {how}"
        keep = ~np.isnan(spectra).any(axis=1)
        out[name] = (unit_spectra(spectra[keep]), np.asarray(labels)[keep])
        origin[name] = (source, filter_name)
        if not keep.all():
            dropped[name] = int((~keep).sum())
    return out, dropped, origin


def spectrum_records(origin: dict[str, tuple[str, str]]) -> list[RowRecord]:
    """The records of the spectrum classifiers' rows: each classifier on real spectra, and each
    of logistic regression and the 1-D CNN + every synthetic set of ``origin`` (the third
    result of :func:`spectrum_extra_sets`)."""
    records = [RowRecord(base, REFERENCE, classifier=base) for base in (LOGREG_ROW, CNN_ROW,
                                                                      NN_ROW)]
    for base in SPECTRUM_CLASSIFIERS:
        for extra, (source, filter_name) in origin.items():
            kind = BASELINE if source in BASELINE_SOURCES else SYNTHETIC
            records.append(RowRecord(spectrum_row_name(base, extra), kind, classifier=base,
                                     source=source, filter=filter_name, baseline=base))
    return records


def _cnn_predictions(x: np.ndarray, y: np.ndarray, test: np.ndarray, *, seed: int,
                     settings: TrainSettings, n_classes: int, device: torch.device) -> np.ndarray:
    from ..data.polar import resample_to
    from .classifiers import SpectrumCNN

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(resample_to(a, CNN_POINTS)[:, None], dtype=torch.float32)

    torch.manual_seed(seed)
    model = train_classifier(SpectrumCNN(n_classes=n_classes), tensor(x), y, settings=settings,
                             seed=seed, device=device)
    return predict(model, tensor(test), device=device)


def spectrum_classifier_rows(train_spectra: np.ndarray, train_y: np.ndarray,
                             test_spectra: np.ndarray, test_y: np.ndarray, *, seeds: list[int],
                             extra: dict[str, tuple[np.ndarray, np.ndarray]],
                             settings: TrainSettings, n_classes: int, device: torch.device,
                             progress: bool = True) -> pd.DataFrame:
    """The classifiers a chemist would use on the spectra, on real data and on real + each
    synthetic set of ``extra``: logistic regression, a small 1-D CNN (same step budget as the
    image rows), and correlation 1-NN (real only).

    Logistic regression and 1-NN are deterministic: every seed repeats the same predictions,
    listed per seed only so that they pair with the other rows.
    """
    real_x, test_x = unit_spectra(train_spectra), unit_spectra(test_spectra)
    frames = []

    def add(name: str, seed: int, pred: np.ndarray, n_train: int, seconds: float) -> None:
        frames.append(pd.DataFrame({ROW: name, SEED: seed, SAMPLE: np.arange(len(test_y)),
                                    Y_TRUE: test_y, Y_PRED: pred, "seconds": seconds,
                                    "n_train": n_train}))

    jobs = [(None, real_x, train_y), *((name, np.concatenate([real_x, x]),
                                        np.concatenate([train_y, y]))
                                       for name, (x, y) in extra.items())]
    for name, x, y in progress_bar(jobs, desc="spectrum classifiers", unit="set",
                                   disable=not progress):
        started = time.perf_counter()
        logreg = LogisticRegression(max_iter=2000).fit(x, y).predict(test_x)
        seconds = time.perf_counter() - started
        for seed in seeds:
            add(spectrum_row_name(LOGREG_ROW, name), seed, logreg, len(y), seconds)
        for seed in seeds:
            started = time.perf_counter()
            pred = _cnn_predictions(x, y, test_x, seed=seed, settings=settings,
                                    n_classes=n_classes, device=device)
            add(spectrum_row_name(CNN_ROW, name), seed, pred, len(y),
                time.perf_counter() - started)
    centred = lambda a: (a - a.mean(1, keepdims=True)) / (a.std(1, keepdims=True) + 1e-12)  # noqa: E731
    corr = centred(test_x) @ centred(real_x).T / real_x.shape[1]
    for seed in seeds:
        add(NN_ROW, seed, train_y[corr.argmax(1)], len(train_y), 0.0)
    return pd.concat(frames, ignore_index=True)


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
