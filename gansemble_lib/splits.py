"""Stratified train/val/test splits and the imbalance profiles applied to the train split.

The split is made first, on the data as given, so every imbalance profile is evaluated on the
same real test set; a profile then subsamples only the training split. Samples a profile
leaves out are marked ``unused`` in the manifest, never silently dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from .constants import TEST, TRAIN, UNUSED, VAL
from .errors import DataError

# Class counts of the GANsemble paper (PAPERS.md §1), the shape of the `paper` profile.
PAPER_COUNTS = (19, 5, 19, 26, 16, 20, 17, 27, 23, 38)
MIN_PER_CLASS = 3  # one each for train, validation and test


def stratified_split(labels: Sequence[str], *, test_fraction: float, val_fraction: float,
                     seed: int) -> np.ndarray:
    """Assign each sample to train/val/test, per class, with at least one of each per class.

    Per class of n samples: round(n * fraction) go to test and to validation, but never fewer
    than one and never so many that training is left empty.
    """
    labels = np.asarray(labels)
    counts = Counter(labels.tolist())
    too_small = {c: n for c, n in counts.items() if n < MIN_PER_CLASS}
    if too_small:
        name, n = sorted(too_small.items())[0]
        raise DataError(
            f"class {name!r} has {n} sample(s); every class needs at least {MIN_PER_CLASS} "
            "(one each for train, validation and test)",
            fix="add samples of that class, or remove it from the input data")
    rng = np.random.default_rng(seed)
    assignment = np.empty(len(labels), dtype=object)
    for name in sorted(counts):
        idx = np.flatnonzero(labels == name)
        rng.shuffle(idx)
        n = len(idx)
        n_test = max(1, round(n * test_fraction))
        n_val = max(1, round(n * val_fraction))
        while n_test + n_val > n - 1:  # keep at least one training sample
            if n_val >= n_test and n_val > 1:
                n_val -= 1
            else:
                n_test -= 1
        assignment[idx[:n_test]] = TEST
        assignment[idx[n_test:n_test + n_val]] = VAL
        assignment[idx[n_test + n_val:]] = TRAIN
    return assignment.astype(str)


def _ranked_targets(available: dict[str, int], shape: np.ndarray) -> dict[str, int]:
    """Scale a descending count shape onto classes ranked by availability.

    The most plentiful class gets the largest share; the shape is scaled down just enough that
    no class is asked for more samples than it has, and every class keeps at least one.
    """
    order = sorted(available, key=lambda c: (-available[c], c))
    shape = np.sort(np.asarray(shape, dtype=float))[::-1]
    if len(shape) != len(order):  # stretch the profile onto this many classes
        shape = np.interp(np.linspace(0, 1, len(order)), np.linspace(0, 1, len(shape)), shape)
    have = np.array([available[c] for c in order], dtype=float)
    scale = float(np.min(have / shape))
    targets = np.maximum(1, np.floor(shape * scale + 1e-9)).astype(int)
    return dict(zip(order, np.minimum(targets, have.astype(int)).tolist(), strict=True))


def profile_targets(available: dict[str, int], profile: str, *, ratio: float = 10.0
                    ) -> dict[str, int]:
    """Per-class training counts under an imbalance profile."""
    if profile == "natural":
        return dict(available)
    if profile == "paper":
        return _ranked_targets(available, np.array(PAPER_COUNTS))
    if profile == "exponential":
        k = len(available)
        shape = ratio ** (-np.arange(k) / max(k - 1, 1))
        return _ranked_targets(available, shape)
    raise DataError(f"unknown imbalance profile {profile!r}",
                    fix="use one of: natural, paper, exponential")


def apply_profile(labels: Sequence[str], splits: np.ndarray, profile: str, *, ratio: float,
                  seed: int) -> np.ndarray:
    """Mark training samples beyond the profile's per-class target as ``unused``."""
    labels = np.asarray(labels)
    splits = np.array(splits, dtype=object)
    train = splits == TRAIN
    available = Counter(labels[train].tolist())
    targets = profile_targets(dict(available), profile, ratio=ratio)
    rng = np.random.default_rng([seed, 1])  # independent of the split's stream
    for name in sorted(available):
        idx = np.flatnonzero(train & (labels == name))
        drop = rng.permutation(idx)[targets[name]:]
        splits[drop] = UNUSED
    return splits.astype(str)


def split_counts(labels: Sequence[str], splits: Sequence[str], classes: Sequence[str]
                 ) -> dict[str, dict[str, int]]:
    """{part: {class: count}} for train, val, test and unused, every class listed."""
    pairs = Counter(zip(splits, labels, strict=True))
    return {part: {c: pairs.get((part, c), 0) for c in classes}
            for part in (TRAIN, VAL, TEST, UNUSED)}


def fold_names(folds: int, repeats: int) -> list[str]:
    """``split`` for one train/val/test split, else ``r{repeat}f{fold}`` for every outer fold."""
    if folds == 1:
        return ["split"] if repeats == 1 else [f"r{r}split" for r in range(repeats)]
    return [f"r{r}f{k}" for r in range(repeats) for k in range(folds)]


def _inner_split(labels: np.ndarray, rest: np.ndarray, val_fraction: float,
                 rng: np.random.Generator, assignment: np.ndarray) -> None:
    """Within one outer training part (indices ``rest``): per class, validation and train."""
    for name in sorted(set(labels[rest].tolist())):
        idx = rest[labels[rest] == name].copy()
        rng.shuffle(idx)
        n_val = min(max(1, round(len(idx) * val_fraction)), len(idx) - 1)
        assignment[idx[:n_val]] = VAL
        assignment[idx[n_val:]] = TRAIN


def outer_folds(labels: Sequence[str], *, folds: int, repeats: int, test_fraction: float,
                val_fraction: float, seed: int) -> dict[str, np.ndarray]:
    """Train/val/test assignment of every sample for each outer fold, stratified by class.

    With ``folds`` >= 2, each repeat deals every class's shuffled samples round-robin into the
    K folds, so each fold's test part holds about n/K of every class and each sample is tested
    exactly once per repeat. Inside each fold's training part an inner validation split is
    drawn per class. ``folds`` = 1 is one train/val/test split (:func:`stratified_split`).
    Every class must keep at least one sample in each part of every fold; otherwise a
    DataError names the class and what would make it fit.
    """
    labels = np.asarray(labels)
    names = fold_names(folds, repeats)
    if folds == 1:
        return {name: stratified_split(labels, test_fraction=test_fraction,
                                       val_fraction=val_fraction, seed=seed + r)
                for r, name in enumerate(names)}
    counts = Counter(labels.tolist())
    fits = lambda n: n >= folds and n - -(-n // folds) >= 2  # noqa: E731 (ceil division)
    need = next(n for n in range(folds, 10 * folds + 3) if fits(n))
    for name, n in sorted(counts.items()):
        if not fits(n):
            raise DataError(
                f"class {name!r} has {n} sample(s); {folds} outer folds need at least {need} "
                "so that every fold tests one and keeps one for validation and one for "
                "training",
                fix="lower evaluation.folds in params.yaml, add samples of "
                    "that class, or leave it out (`gansemble import-data ... "
                    "--drop-small-classes`)")
    out = {}
    for r in range(repeats):
        rng = np.random.default_rng([seed, 2, r])
        fold_of = np.empty(len(labels), dtype=int)
        for name in sorted(counts):
            idx = np.flatnonzero(labels == name)
            rng.shuffle(idx)
            start = int(rng.integers(folds))  # so small classes do not always test in fold 0
            fold_of[idx] = (start + np.arange(len(idx))) % folds
        for k in range(folds):
            assignment = np.empty(len(labels), dtype=object)
            test = fold_of == k
            assignment[test] = TEST
            _inner_split(labels, np.flatnonzero(~test), val_fraction, rng, assignment)
            out[f"r{r}f{k}"] = assignment.astype(str)
    return out
