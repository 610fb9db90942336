"""Two quick questions about a trained generator's samples: is it copying, is it chemistry?

**Copying.** Each sample's nearest real TRAIN image by Euclidean distance in pixel space
(ink units, 0 = white, 1 = full ink, at the working size: :mod:`.neighbours` with no
downsampling). A distance only means something next to how far real images lie from each
other, so the same is computed for every train image to its nearest *other* train image
(leave-one-out) and for every validation image to its nearest train image (genuinely new real
data). A median ratio sample/train-to-train far below 1, or many samples closer to a train
image than any two train images are to each other, says the generator reproduces its data.

**Chemistry.** Each sample is decoded back to a spectrum (:func:`polar.decode` at the
prepared geometry) and correlated with the class means of the decoded train images (decoded
the same way, so both sides carry the same rendering loss). The share whose best-correlated
class is the conditioned one says whether a sample of "PE" at least looks like PE; real
validation images give the reference share a perfect generator would reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.polar import PolarGeometry, decode
from .neighbours import nearest_distances, pixel_features
from .validity import best_matches

# Keys of the summaries (reports/metrics/03_*.json)
SAMPLE_NN_MEDIAN = "sample_nn_median"
TRAIN_NN_MEDIAN = "train_nn_median"
VAL_NN_MEDIAN = "val_nn_median"
NN_RATIO = "sample_to_train_nn_ratio"
CLOSER_THAN_ANY_TRAIN_PAIR = "share_closer_than_any_train_pair"
NN_SAME_CLASS = "share_nn_same_class"
SPREAD_RATIO = "within_class_spread_ratio"
CLASS_MATCH = "class_mean_match"
CLASS_MATCH_VAL = "class_mean_match_val"
OWN_CLASS_CORRELATION = "own_class_correlation"


@dataclass(frozen=True)
class NearestReal:
    """For each sample: distance to, and index of, its nearest train image; plus references."""

    distances: np.ndarray
    indices: np.ndarray
    train_distances: np.ndarray  # each train image to its nearest other train image
    val_distances: np.ndarray  # each validation image to its nearest train image
    spread_ratio: float  # see within_class_spread

    def summary(self, sample_labels: np.ndarray, train_labels: np.ndarray) -> dict[str, float]:
        train_median = float(np.median(self.train_distances))
        return {
            SAMPLE_NN_MEDIAN: float(np.median(self.distances)),
            TRAIN_NN_MEDIAN: train_median,
            VAL_NN_MEDIAN: float(np.median(self.val_distances)) if len(self.val_distances)
            else float("nan"),
            NN_RATIO: float(np.median(self.distances)) / train_median if train_median > 0
            else float("nan"),
            CLOSER_THAN_ANY_TRAIN_PAIR: float(np.mean(self.distances
                                                      < self.train_distances.min())),
            NN_SAME_CLASS: float(np.mean(np.asarray(train_labels)[self.indices]
                                         == np.asarray(sample_labels))),
            SPREAD_RATIO: self.spread_ratio,
        }


def copy_statement(summary: dict[str, float]) -> str:
    """The nearest-neighbour summary in one sentence."""
    return (f"nearest-train distance of the samples: median {summary[SAMPLE_NN_MEDIAN]:.2f}, "
            f"{summary[NN_RATIO]:.2f}x the train-to-train median "
            f"({summary[TRAIN_NN_MEDIAN]:.2f}; validation-to-train {summary[VAL_NN_MEDIAN]:.2f}); "
            f"{summary[CLOSER_THAN_ANY_TRAIN_PAIR]:.0%} of samples are closer to a train image "
            "than any two train images are to each other; the nearest train image has the "
            f"sample's class for {summary[NN_SAME_CLASS]:.0%} of them; samples of a class "
            f"vary {summary[SPREAD_RATIO]:.2f}x as much as real ones")


def _mean_pairwise(features: np.ndarray) -> float:
    n = len(features)
    d = np.sqrt(np.maximum(0, (features**2).sum(1)[:, None] + (features**2).sum(1)[None]
                           - 2 * features @ features.T))
    return float(d.sum() / (n * (n - 1)))


def within_class_spread(samples: np.ndarray, sample_labels: np.ndarray, train: np.ndarray,
                        train_labels: np.ndarray) -> float:
    """Mean pairwise distance within a class, samples over real train images, class-averaged.

    Near 1: the samples of a class vary as much as the real ones; near 0: the generator
    draws (almost) the same image for every noise vector, a collapse that nearest-neighbour
    distances alone do not show. Classes with fewer than two of either are left out.
    """
    ratios = []
    for k in np.unique(sample_labels):
        mine, real = samples[sample_labels == k], train[np.asarray(train_labels) == k]
        if len(mine) > 1 and len(real) > 1 and _mean_pairwise(real) > 0:
            ratios.append(_mean_pairwise(mine) / _mean_pairwise(real))
    return float(np.mean(ratios)) if ratios else float("nan")


def nearest_real(samples: np.ndarray, train_images: np.ndarray, val_images: np.ndarray, *,
                 sample_labels: np.ndarray, train_labels: np.ndarray) -> NearestReal:
    """Nearest train image of every sample, with the train-to-train and val-to-train references
    and the within-class spread.

    All inputs are uint8 (N, C, H, W) at the same size; distances are in pixel space.
    """
    size = train_images.shape[-1]
    train = pixel_features(train_images, size)
    features = pixel_features(samples, size)
    distances, indices = nearest_distances(features, train)
    train_distances, _ = nearest_distances(train, train, exclude_self=True)
    val_distances = (nearest_distances(pixel_features(val_images, size), train)[0]
                     if len(val_images) else np.zeros(0))
    spread = within_class_spread(features, np.asarray(sample_labels), train, train_labels)
    return NearestReal(distances, indices, train_distances, val_distances, spread)


def class_means(spectra: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """(n_classes, points) mean spectrum per class; NaN rows (undecodable images) skipped."""
    out = np.full((n_classes, spectra.shape[1]), np.nan)
    for k in range(n_classes):
        rows = spectra[(np.asarray(labels) == k) & ~np.isnan(spectra).any(axis=1)]
        if len(rows):
            out[k] = rows.mean(axis=0)
    return out


def class_mean_predictions(images: np.ndarray, train_images: np.ndarray,
                           train_labels: np.ndarray, *, n_classes: int,
                           geometry: PolarGeometry) -> np.ndarray:
    """Each image's class by its decoded spectrum: the train class mean it correlates with best
    (-1 when it correlates positively with none, e.g. an image without ink)."""
    means = class_means(decode(train_images, geometry=geometry), train_labels, n_classes)
    present = ~np.isnan(means).any(axis=1)  # a class absent from train cannot be matched
    if not len(images):
        return np.zeros(0, dtype=np.int64)
    best, _ = best_matches(decode(images, geometry=geometry), means[present])
    return np.where(best >= 0, np.flatnonzero(present)[np.maximum(best, 0)], -1)


def class_mean_agreement(images: np.ndarray, labels: np.ndarray, train_images: np.ndarray,
                         train_labels: np.ndarray, *, n_classes: int, geometry: PolarGeometry,
                         val_images: np.ndarray | None = None,
                         val_labels: np.ndarray | None = None) -> dict[str, float]:
    """Share of samples whose decoded spectrum correlates best with their own class's mean.

    Also the mean correlation with the own class's mean, and (given validation images) the
    same share for real held-out images: the level a perfect generator would reach.
    """
    means = class_means(decode(train_images, geometry=geometry), train_labels, n_classes)
    present = ~np.isnan(means).any(axis=1)  # a class absent from train cannot be matched

    def agreement(decoded: np.ndarray, wanted: np.ndarray) -> tuple[float, float]:
        best, _ = best_matches(decoded, means[present])
        matched = np.flatnonzero(present)[np.maximum(best, 0)]
        hit = (best >= 0) & (matched == wanted)
        centred = decoded - decoded.mean(axis=1, keepdims=True)
        target = means[wanted] - means[wanted].mean(axis=1, keepdims=True)
        corr = (centred * target).sum(axis=1) / np.maximum(
            np.linalg.norm(centred, axis=1) * np.linalg.norm(target, axis=1), 1e-12)
        # an image without ink (NaN) or of a class absent from train correlates with nothing
        return float(hit.mean()), float(np.nan_to_num(corr).mean())

    match, own = agreement(decode(images, geometry=geometry), np.asarray(labels))
    result = {CLASS_MATCH: match, OWN_CLASS_CORRELATION: own}
    if val_images is not None and val_labels is not None and len(val_images):
        result[CLASS_MATCH_VAL] = agreement(decode(val_images, geometry=geometry),
                                            np.asarray(val_labels))[0]
    return result
