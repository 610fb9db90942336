"""Stratified train/val/test splits and the imbalance profiles applied to the train split.

The split is made first, on the data as given, so every imbalance profile is evaluated on the
same real test set; a profile then subsamples only the training split. Samples a profile
leaves out are marked ``unused`` in the manifest, never silently dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from itertools import count
from pathlib import Path

import numpy as np

from ..core.constants import PAPER_CLASS_COUNTS, TEST, TRAIN, UNUSED, VAL
from ..core.errors import DataError

MIN_PER_CLASS = 3  # one split (evaluation.folds = 1): one each for train, validation and test
MAX_FOLDS = 20  # evaluation.folds is at most this (config.EvaluationParams)


def min_per_class(folds: int) -> int:
    """The fewest samples of a class that the evaluation design with ``folds`` outer folds uses.

    The one owner of this number: :func:`stratified_split` and :func:`outer_folds` (so the
    prepare stage) refuse a smaller class, and ``import-data`` refuses it too or, with
    ``--drop-small-classes``, leaves out exactly the classes below it. One split (``folds`` = 1)
    needs one sample each for train, validation and test. With K >= 2 folds a class of n samples
    is dealt round-robin, so one fold tests up to ceil(n / K) of them and what is left must still
    hold one for validation and one for training: n >= K and n - ceil(n / K) >= 2. That makes
    2 folds need 4, 3 folds 3, and K >= 4 folds K.
    """
    if folds < 1:
        raise DataError(f"evaluation.folds is {folds}", fix="use 1 (one split) or more")
    if folds == 1:
        return MIN_PER_CLASS
    return next(n for n in count(folds) if n - -(-n // folds) >= 2)  # -(-n // K) = ceil(n/K)


def design_name(folds: int) -> str:
    """The evaluation design in words, for messages."""
    return "one train/validation/test split" if folds == 1 else f"{folds} outer folds"


def requirement(folds: int) -> str:
    """``5 outer folds need at least 5 samples per class``: the rule in words, for messages."""
    verb = "needs" if folds == 1 else "need"
    return f"{design_name(folds)} {verb} at least {min_per_class(folds)} samples per class"


def small_classes(counts: Mapping[str, int], folds: int) -> dict[str, int]:
    """{class: samples} for the classes (sorted by name) too small for ``folds`` outer folds."""
    need = min_per_class(folds)
    return {name: counts[name] for name in sorted(counts) if counts[name] < need}


def dropped_class_note(name: str, n: int, folds: int) -> str:
    """The line ``import-data --drop-small-classes`` prints for each class it leaves out."""
    return (f"dropped class {name!r}: {n} sample{'' if n == 1 else 's'}, "
            f"{min_per_class(folds)} needed for {design_name(folds)}")


def _folds_that_fit(smallest: int, folds: int) -> int | None:
    """The largest other evaluation.folds value every class (the smallest has ``smallest``
    samples) fits, preferring fewer folds than ``folds``; None if none does."""
    fitting = [k for k in range(1, MAX_FOLDS + 1) if k != folds and min_per_class(k) <= smallest]
    fewer = [k for k in fitting if k < folds]
    return max(fewer or fitting) if fitting else None


def check_class_sizes(counts: Mapping[str, int], folds: int, *, importing: bool = False,
                      path: str | Path | None = None) -> None:
    """DataError naming every class too small for ``folds`` outer folds, else nothing.

    Each fix it offers works when followed: adding samples; leaving the classes out with
    ``import-data --drop-small-classes`` (offered only if a class would remain; it uses this
    same minimum, from evaluation.folds in params.yaml); or another evaluation.folds that every
    class fits (offered only if one exists). ``importing`` words the first for ``import-data``
    (pass the flag) rather than for ``prepare`` (import again with it).
    """
    small = small_classes(counts, folds)
    if not small:
        return
    need, design = min_per_class(folds), requirement(folds)
    why = ("one each for train, validation and test" if folds == 1 else
           "so that every fold tests one and keeps one for validation and one for training")
    listing = ", ".join(f"{name!r} ({n})" for name, n in small.items())
    if len(small) == len(counts):
        problem = f"every class has fewer than {need} samples: {listing}; {design} ({why})"
    elif len(small) == 1:
        (name, n), = small.items()
        problem = f"class {name!r} has {n} sample(s); {design} ({why})"
    else:
        problem = f"classes {listing} have fewer than {need} samples; {design} ({why})"
    fixes = [f"add samples until each class has at least {need}"]
    if len(small) == len(counts):
        fixes[0] += " (--drop-small-classes would leave no class)"
    elif importing:
        fixes.append("pass --drop-small-classes to leave such classes out (your files stay "
                     "unchanged; dataset.yaml lists the classes left out)")
    else:
        fixes.append("leave such classes out: import the data again with `gansemble import-data "
                     "SRC ... --drop-small-classes` (it leaves out the classes too small for "
                     "evaluation.folds in params.yaml)")
    other = _folds_that_fit(min(small.values()), folds)
    if other is not None:
        fixes.append(f"set evaluation.folds to {other} in params.yaml (every class then fits: "
                     f"{requirement(other)})")
    raise DataError(problem, path=path, fix="; or ".join(fixes))


def stratified_split(labels: Sequence[str], *, test_fraction: float, val_fraction: float,
                     seed: int) -> np.ndarray:
    """Assign each sample to train/val/test, per class, with at least one of each per class.

    Per class of n samples: round(n * fraction) go to test and to validation, but never fewer
    than one and never so many that training is left empty.
    """
    labels = np.asarray(labels)
    counts = Counter(labels.tolist())
    check_class_sizes(counts, 1)
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
        return _ranked_targets(available, np.array(list(PAPER_CLASS_COUNTS.values())))
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
    Every class must keep at least one sample in each part of every fold
    (:func:`min_per_class`); otherwise a DataError names the classes and what would make them
    fit.
    """
    labels = np.asarray(labels)
    names = fold_names(folds, repeats)
    if folds == 1:
        return {name: stratified_split(labels, test_fraction=test_fraction,
                                       val_fraction=val_fraction, seed=seed + r)
                for r, name in enumerate(names)}
    counts = Counter(labels.tolist())
    check_class_sizes(counts, folds)
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
