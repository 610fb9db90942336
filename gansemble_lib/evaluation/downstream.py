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
    COMBO,
    REAL,
    REAL_ONLY,
    ROW,
    SAMPLE,
    SEED,
    SMOTE_ROW,
    SPECTRAL_AUG_ROW,
    SYNTHETIC,
    TSTR,
    Y_PRED,
    Y_TRUE,
    RowRecord,
    set_row_name,
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
