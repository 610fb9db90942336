"""Chemical validity and memorisation on rendered spectra with known classes."""

from __future__ import annotations

import numpy as np
import pytest

from gansemble_lib.core.constants import CLASS_INDEX, LABEL
from gansemble_lib.data.polar import PolarGeometry, render
from gansemble_lib.evaluation import validity

GEOMETRY = PolarGeometry(size=64)
PEAKS = {0: (0.2, 0.55), 1: (0.4, 0.8)}  # band positions of the two made-up classes


def spectra(class_index: int, n: int, seed: int) -> np.ndarray:
    """Two Gaussian bands at the class's positions, jittered in place, width and height."""
    rng = np.random.default_rng([seed, class_index])
    t = np.linspace(0, 1, 400)
    out = np.zeros((n, t.size))
    for centre in PEAKS[class_index]:
        shift = rng.normal(0, 0.01, (n, 1))
        width = rng.uniform(0.015, 0.03, (n, 1))
        height = rng.uniform(0.6, 1.0, (n, 1))
        out += height * np.exp(-0.5 * ((t - centre - shift) / width) ** 2)
    return out / out.max(axis=1, keepdims=True)


def rendered(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.repeat([0, 1], per_class)
    images = render(np.concatenate([spectra(k, per_class, seed) for k in (0, 1)]),
                    geometry=GEOMETRY)
    return images, labels


def test_correct_labels_all_match_and_swapped_labels_never_do():
    library, library_labels = rendered(5, seed=0)
    synthetic, labels = rendered(6, seed=1)
    table = validity.chemical_validity(synthetic, labels, library, library_labels,
                                       geometry=GEOMETRY)
    assert table[validity.VALID].mean() == 1.0
    assert (table[validity.MATCH_CORRELATION] > 0.5).all()
    swapped = validity.chemical_validity(synthetic, 1 - labels, library, library_labels,
                                         geometry=GEOMETRY)
    assert swapped[validity.VALID].mean() == 0.0


def test_an_image_without_ink_matches_nothing():
    library, library_labels = rendered(2, seed=0)
    blank = np.full((1, 1, 64, 64), 255, dtype=np.uint8)
    table = validity.chemical_validity(blank, np.array([0]), library, library_labels,
                                       geometry=GEOMETRY)
    assert table.loc[0, validity.MATCH_CLASS] == -1 and not table.loc[0, validity.VALID]


def test_best_matches_uses_pearson_correlation():
    library = np.array([[0.0, 1.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0]])
    queries = np.array([[5.0, 7.0, 5.0, 7.0], [3.0, 3.0, 3.0, 3.0], [2.0, 1.0, 2.0, 1.0]])
    index, corr = validity.best_matches(queries, library)
    assert list(index) == [0, -1, 1]  # scale and offset do not matter; flat is no match
    assert corr[0] == pytest.approx(1.0) and corr[2] == pytest.approx(1.0)


def test_memorisation_flags_copies_against_the_test_distance_distribution():
    train, _ = rendered(5, seed=0)
    test, _ = rendered(3, seed=2)
    novel, labels = rendered(2, seed=3)
    images = np.concatenate([train[:2], novel])
    table, threshold, reference = validity.memorisation(
        images, train, test, labels=np.concatenate([[0, 0], labels]), size=32, quantile=0.05)
    assert threshold == pytest.approx(np.quantile(reference, 0.05))
    assert len(reference) == len(test)
    assert list(table[validity.NEAR_COPY][:2]) == [True, True]
    assert table[validity.NN_DISTANCE][:2].max() == pytest.approx(0.0)
    assert not table[validity.NEAR_COPY][2:].any()


def test_share_by_class_reports_empty_classes_as_missing():
    table = validity.chemical_validity(*rendered(2, seed=1), *rendered(3, seed=0),
                                       geometry=GEOMETRY)
    table = table[table[CLASS_INDEX] == 0]
    shares = validity.share_by_class(table, validity.VALID, ("a", "b"))
    assert list(shares[LABEL]) == ["a", "b", validity.OVERALL]
    assert shares.loc[0, validity.VALID] == 1.0 and np.isnan(shares.loc[1, validity.VALID])
    assert list(shares["n"]) == [2, 0, 2]
