"""Stage 05: is a synthetic image chemically plausible, and is it a copy of a training image?

Chemical validity. Each synthetic polar image is decoded back to a spectrum
(:func:`polar.decode` with the prepared geometry) and matched, by Pearson correlation, against
a library of the real TRAIN images decoded *the same way*. Decoding the library too, rather
than using the stored spectra, means both sides carry the same rendering loss (the curve is
drawn at a few hundred angles and about a pixel wide), so a synthetic image that is a perfect
rendering of a real spectrum matches it with correlation close to 1 instead of being penalised
for the rasterisation. A sample is valid when its best match has the conditioned class.

Memorisation. For each synthetic image the distance to its nearest training image, in the
blurred pixel space of :mod:`neighbours`, is compared with the distances of real TEST images to
their nearest training image (how far genuinely new real data lies). A sample nearer than the
``quantile`` quantile of those test distances is counted as a near-copy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.constants import CLASS_INDEX, LABEL
from ..data.polar import PolarGeometry, decode
from .neighbours import nearest_distances, pixel_features

MATCH_CLASS, MATCH_CORRELATION, VALID = "match_class", "match_correlation", "valid"
NN_DISTANCE, NEAR_COPY = "nn_distance", "near_copy"
OVERALL = "overall"


def _standardise(rows: np.ndarray) -> np.ndarray:
    """Rows centred and scaled to unit norm, so a dot product is the Pearson correlation.

    A flat row or one that could not be decoded (NaN: the image had no ink) carries no
    shape, so it becomes all zeros and correlates 0 with everything.
    """
    rows = np.where(np.isnan(rows).any(axis=1, keepdims=True), 0.0, rows)
    centred = rows - rows.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(centred, axis=1, keepdims=True)
    return np.divide(centred, norm, out=np.zeros_like(centred), where=norm > 0)


def best_matches(queries: np.ndarray, library: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each query's best-correlated library row (-1: none) and that correlation.

    Only a positive correlation counts as a match: a spectrum unrelated to every library
    entry must not be credited with the class of whichever entry happened to come first.
    """
    corr = _standardise(queries) @ _standardise(library).T
    if corr.shape[1] == 0:
        raise ValueError("the library is empty")
    index = corr.argmax(axis=1) if len(corr) else np.zeros(0, dtype=np.int64)
    best = corr[np.arange(len(corr)), index]
    return np.where(best > 0, index, -1), best


def chemical_validity(images: np.ndarray, labels: np.ndarray, library_images: np.ndarray,
                      library_labels: np.ndarray, *, geometry: PolarGeometry,
                      points: int | None = None) -> pd.DataFrame:
    """Per sample: the class of the best-matching library spectrum and whether it is correct."""
    if len(library_images) == 0:
        raise ValueError("the spectral library (real train images) is empty")
    library = decode(library_images, geometry=geometry, points=points)
    queries = decode(images, geometry=geometry, points=points) if len(images) else np.zeros(
        (0, library.shape[1]))
    index, corr = best_matches(queries, library)
    match_class = np.where(index >= 0, np.asarray(library_labels)[np.maximum(index, 0)], -1)
    return pd.DataFrame({CLASS_INDEX: labels, MATCH_CLASS: match_class,
                         MATCH_CORRELATION: corr, VALID: match_class == labels})


def memorisation(images: np.ndarray, train_images: np.ndarray, test_images: np.ndarray, *,
                 labels: np.ndarray, size: int, quantile: float = 0.05
                 ) -> tuple[pd.DataFrame, float, np.ndarray]:
    """Per sample: nearest-train distance and near-copy flag; also the threshold used and the
    test-to-train reference distances it came from."""
    train = pixel_features(train_images, size)
    reference, _ = nearest_distances(pixel_features(test_images, size), train)
    threshold = float(np.quantile(reference, quantile))
    distance, _ = nearest_distances(pixel_features(images, size), train)
    table = pd.DataFrame({CLASS_INDEX: labels, NN_DISTANCE: distance,
                          NEAR_COPY: distance < threshold})
    return table, threshold, reference


def share_by_class(table: pd.DataFrame, column: str, classes: tuple[str, ...]) -> pd.DataFrame:
    """Share of True in ``column`` and sample count per class, plus an overall row.

    A class with no samples gets NaN rather than a made-up 0 or 1.
    """
    grouped = table.groupby(CLASS_INDEX)[column]
    rows = [{LABEL: name, "n": int(grouped.size().get(k, 0)),
             column: float(grouped.mean().get(k, np.nan))} for k, name in enumerate(classes)]
    rows.append({LABEL: OVERALL, "n": len(table),
                 column: float(table[column].mean()) if len(table) else np.nan})
    return pd.DataFrame(rows)


def validity_table(sets: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
                   library: tuple[np.ndarray, np.ndarray], classes: tuple[str, ...], *,
                   geometry: PolarGeometry) -> pd.DataFrame:
    """Share of chemically valid samples per class (columns) for every (source, filter) set."""
    library_images, library_labels = library
    rows = {}
    for key, (images, labels) in sets.items():
        table = chemical_validity(images, labels, library_images, library_labels,
                                  geometry=geometry)
        shares = share_by_class(table, VALID, classes).set_index(LABEL)
        rows[key] = {**shares[VALID].to_dict(), "n": len(table),
                     "median_correlation": float(table[MATCH_CORRELATION].median())
                     if len(table) else np.nan}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["source", "filter"])
    return frame


def memorisation_table(sets: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
                       train_images: np.ndarray, test_images: np.ndarray, *, size: int,
                       quantile: float) -> pd.DataFrame:
    """Near-copy share and nearest-train distances for every (source, filter) set.

    ``distance_ratio`` is the set's median nearest-train distance over that of the real test
    images: about 1 for samples as novel as real data, near 0 for copies.
    """
    rows = {}
    for key, (images, labels) in sets.items():
        table, threshold, reference = memorisation(images, train_images, test_images,
                                                   labels=labels, size=size, quantile=quantile)
        median = float(table[NN_DISTANCE].median()) if len(table) else np.nan
        rows[key] = {"n": len(table), "near_copy_share": float(table[NEAR_COPY].mean())
                     if len(table) else np.nan, "median_nn_distance": median,
                     "distance_ratio": median / float(np.median(reference)),
                     "threshold": threshold}
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index = pd.MultiIndex.from_tuples(frame.index, names=["source", "filter"])
    return frame
