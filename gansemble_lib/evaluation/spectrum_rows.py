"""Stage 06's spectrum classifiers: what a chemist would train on the spectra themselves
(logistic regression, a small 1-D CNN, correlation 1-NN), on real spectra and on real + each
synthetic set (a source's own spectra where it has them, else its images read back), each
judged against the same classifier on real spectra only."""


from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch
from sklearn.linear_model import LogisticRegression

from ..core.progress import bar as progress_bar
from .classifiers import (
    TrainSettings,
    predict,
    train_classifier,
)
from .downstream import BASELINE_SOURCES
from .rows import (
    BASELINE,
    CNN_ROW,
    LOGREG_ROW,
    NN_ROW,
    REFERENCE,
    ROW,
    SAMPLE,
    SEED,
    SPECTRUM_CLASSIFIERS,
    SYNTHETIC,
    Y_PRED,
    Y_TRUE,
    RowRecord,
    set_row_name,
    spectrum_row_name,
)

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
