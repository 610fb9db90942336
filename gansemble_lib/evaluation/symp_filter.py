"""Stage 04: GANsemble's SYMP-Filter, a stronger filter, and the unfiltered control.

All three filters see the *same* pools: for every class and round, ``pool_size`` images drawn
from a source with a seed derived from (seed, class, round). Each keeps at most ``keep``
images per pool, so they differ only in *which* images they keep:

* ``none`` keeps the first ``keep`` of each pool (the generator's samples are exchangeable,
  so this is a random subset): the control.
* ``symp`` is the paper's rank-and-keep heuristic: score every image by its density and keep
  the ``keep`` best of each pool (see :func:`density` for what "density" means here).
* ``strong`` rejects near-copies of training images, off-manifold outliers and samples that a
  classifier trained on the real train split does not recognise as the conditioned class, then
  keeps the ``keep`` most confident survivors of each pool.

Every filter returns one row per pooled image (class, round, kept, reason, score), so each
rejection can be counted and explained. The real test split is never used here: the
classifier trains on the train split and the outlier threshold comes from the validation split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..core.constants import CLASS_INDEX
from ..generators.interface import Generator
from .classifiers import TrainSettings, make_classifier, to_tensor, train_classifier
from .neighbours import nearest_distances, pixel_features

FILTERS = ("none", "symp", "strong")
REGIONS = ("whole", "corners")
DIRECTIONS = ("low", "high")

ROUND, POOL_INDEX, KEPT, REASON, SCORE, NN_DISTANCE, FEATURE_DISTANCE = (
    "round", "pool_index", "kept", "reason", "score", "nn_distance", "feature_distance")
# Reasons, in the order the strong filter checks them: one reason per image, the first that applies.
KEPT_REASON = "kept"
NEAR_COPY = "near_copy"  # closer to a training image than real images are to each other
OUTLIER = "outlier"  # farther from every training image (judge's features) than real val images
LOW_CONFIDENCE = "low_confidence"  # the domain classifier doubts the conditioned class
RANKED_OUT = "ranked_out"  # SYMP: not among the pool's best densities
SURPLUS = "surplus"  # passed every check, but the pool's quota of ``keep`` was already full
REASONS = (KEPT_REASON, NEAR_COPY, OUTLIER, LOW_CONFIDENCE, RANKED_OUT, SURPLUS)
CPU = torch.device("cpu")


@dataclass(frozen=True)
class Pool:
    """Every image drawn for filtering, with its conditioned class and round; ``spectra`` are
    the source's own spectra behind the images when it makes spectra (SMOTE, spectrum GAN)."""

    images: np.ndarray
    labels: np.ndarray
    rounds: np.ndarray
    spectra: np.ndarray | None = None

    def frame(self) -> pd.DataFrame:
        """The per-sample table's identifying columns, one row per pooled image."""
        return pd.DataFrame({CLASS_INDEX: self.labels, ROUND: self.rounds,
                             POOL_INDEX: np.arange(len(self.labels))})


def pool_seed(seed: int, class_index: int, round_: int) -> int:
    """A distinct, reproducible generator seed per (class, round): fresh samples every round."""
    return int(np.random.SeedSequence([seed, class_index, round_]).generate_state(1)[0])


def draw_pool(generator: Generator, *, n_classes: int, pool_size: int, rounds: int,
              seed: int) -> Pool:
    """``rounds`` pools of ``pool_size`` images for every class, through the generator interface."""
    if pool_size < 1 or rounds < 1:
        raise ValueError(f"pool_size and rounds must be >= 1, got {pool_size} and {rounds}")
    images, labels, round_ids, spectra = [], [], [], []
    native = hasattr(generator, "generate_spectra")  # the same seed draws the same spectra
    for k in range(n_classes):
        for r in range(rounds):
            images.append(generator.generate(k, pool_size, pool_seed(seed, k, r)))
            if native:
                spectra.append(generator.generate_spectra(k, pool_size, pool_seed(seed, k, r)))
            labels.append(np.full(pool_size, k))
            round_ids.append(np.full(pool_size, r))
    return Pool(np.concatenate(images), np.concatenate(labels), np.concatenate(round_ids),
                np.concatenate(spectra) if native else None)


def corner_mask(height: int, width: int, corner_fraction: float) -> np.ndarray:
    """Boolean (H, W) mask of the four corner squares, side ``corner_fraction`` x the short side."""
    if not 0 < corner_fraction <= 0.5:
        raise ValueError(f"corner_fraction must be in (0, 0.5], got {corner_fraction}")
    side = max(1, round(corner_fraction * min(height, width)))
    mask = np.zeros((height, width), dtype=bool)
    for rows in (slice(0, side), slice(height - side, height)):
        for cols in (slice(0, side), slice(width - side, width)):
            mask[rows, cols] = True
    return mask


def density(images: np.ndarray, *, region: str = "whole", corner_fraction: float = 0.25
            ) -> np.ndarray:
    """Ink in the region: sum over its pixels of ``(255 - value) / 255``, channels averaged.

    The paper scores "density = sum of pixel values" and keeps the lowest. What that sum
    measured cannot be recovered from its notebook. We define density as *ink*, in units of
    fully dark pixels: 0 for a blank white region, one per black pixel. On our dark-on-white
    images the raw sum of stored values is ``255 * (pixels - ink)``, so a *low* raw sum means
    *much* ink: ``direction="low"`` keeps the least ink (sparse curves, clean corners) and
    ``direction="high"`` is the literal low-raw-sum reading. The corners lie outside the polar
    disc, where a real image has no ink at all, so ink there is a generator artefact.
    """
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {images.shape}")
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    ink = (255.0 - images.astype(np.float64).mean(axis=1)) / 255.0
    if region == "corners":
        ink = ink[:, corner_mask(*ink.shape[1:], corner_fraction)]
    return ink.reshape(len(ink), -1).sum(axis=1)


def _quota(eligible: np.ndarray, priority: np.ndarray, groups: pd.DataFrame, keep: int
           ) -> np.ndarray:
    """Keep the ``keep`` eligible rows of each group with the highest priority (stable ties)."""
    kept = np.zeros(len(eligible), dtype=bool)
    for _, idx in groups.groupby([CLASS_INDEX, ROUND]).indices.items():
        candidates = idx[eligible[idx]]
        order = np.argsort(-priority[candidates], kind="stable")
        kept[candidates[order[:keep]]] = True
    return kept


def _check_keep(keep: int) -> None:
    if keep < 1:
        raise ValueError(f"keep must be >= 1, got {keep}")


def check_budget(*, pool_size: int, keep: int) -> None:
    """A filter that keeps a whole pool rejects nothing: refuse the setting instead."""
    _check_keep(keep)
    if keep >= pool_size:
        raise ValueError(f"keep ({keep}) must be smaller than pool_size ({pool_size}), else "
                         "no filter can reject anything")


def no_filter(pool: Pool, *, keep: int) -> pd.DataFrame:
    """The control: the first ``keep`` images of every pool, whatever they look like."""
    _check_keep(keep)
    table = pool.frame()
    rank_in_pool = table.groupby([CLASS_INDEX, ROUND]).cumcount().to_numpy()
    table[KEPT] = rank_in_pool < keep
    table[REASON] = np.where(table[KEPT], KEPT_REASON, SURPLUS)
    table[SCORE] = np.nan
    return table


def symp_filter(pool: Pool, *, keep: int, region: str = "whole", corner_fraction: float = 0.25,
                direction: str = "low") -> pd.DataFrame:
    """The paper's SYMP-Filter: per pool, keep the ``keep`` images of lowest (or highest) ink."""
    _check_keep(keep)
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    table = pool.frame()
    score = density(pool.images, region=region, corner_fraction=corner_fraction)
    priority = -score if direction == "low" else score
    kept = _quota(np.ones(len(score), dtype=bool), priority, table, keep)
    table[KEPT] = kept
    table[REASON] = np.where(kept, KEPT_REASON, RANKED_OUT)
    table[SCORE] = score
    return table


@dataclass(frozen=True, kw_only=True)
class StrongChecks:
    """What the strong filter compares each sample with; built by :func:`build_checks`.

    ``classifier`` maps the ink map at ``size`` pixels (see ``classifiers.to_tensor``) to class
    logits. ``reference`` holds the train images' pixel features (``neighbours``), the space in
    which a copy is a copy; ``feature_reference`` their embeddings by the classifier
    (:func:`embed`), the space in which an outlier is judged.
    """

    classifier: nn.Module
    size: int
    reference: np.ndarray
    feature_reference: np.ndarray
    tau: float
    copy_threshold: float
    outlier_threshold: float
    device: torch.device = CPU


def train_domain_classifier(images: np.ndarray, labels: np.ndarray, *, n_classes: int,
                            name: str = "lenet", size: int = 32, epochs: int = 30,
                            batch_size: int = 32, lr: float = 2e-3, seed: int = 0,
                            device: torch.device = CPU) -> nn.Module:
    """A classifier of the real TRAIN images, seeded (weights and data order)."""
    torch.manual_seed(seed)
    model = make_classifier(name, in_channels=images.shape[1], n_classes=n_classes, size=size)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=lr)
    model = train_classifier(model, to_tensor(images, size), labels, settings=settings,
                             seed=seed, device=device)
    return model.eval()


def _last_linear(model: nn.Module) -> nn.Linear:
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no nn.Linear output layer, so it offers no "
                         "feature space for the outlier check")
    return layers[-1]


@torch.no_grad()
def judge(classifier: nn.Module, images: np.ndarray, *, size: int, device: torch.device = CPU,
          batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """One pass of the classifier: its learned features and its softmax of each image.

    The features are what its last linear layer sees, captured by a forward hook; that works
    for every classifier in ``classifiers`` (LeNet, SmallResNet, ResNet-18), each ending in one
    ``nn.Linear``.
    """
    last = _last_linear(classifier)
    classifier.eval()
    features: list[torch.Tensor] = []
    probs: list[torch.Tensor] = []
    hook = last.register_forward_hook(
        lambda _module, inputs, _output: features.append(inputs[0].detach().cpu()))
    try:
        x = to_tensor(images, size)
        for start in range(0, len(x), batch_size):
            probs.append(classifier(x[start:start + batch_size].to(device)).softmax(1).cpu())
    finally:
        hook.remove()
    if not probs:
        return np.zeros((0, last.in_features)), np.zeros((0, last.out_features))
    return torch.cat(features).flatten(1).double().numpy(), torch.cat(probs).numpy()


def embed(classifier: nn.Module, images: np.ndarray, *, size: int, device: torch.device = CPU,
          batch_size: int = 256) -> np.ndarray:
    """The classifier's learned features of each image (see :func:`judge`)."""
    return judge(classifier, images, size=size, device=device, batch_size=batch_size)[0]


def build_checks(classifier: nn.Module, train_images: np.ndarray, val_images: np.ndarray, *,
                 size: int, tau: float, copy_quantile: float, outlier_quantile: float,
                 device: torch.device = CPU) -> StrongChecks:
    """Thresholds from real data only.

    Near-copy: nearer to a training image than the ``copy_quantile`` quantile of the train
    images' leave-one-out nearest-neighbour distances, i.e. closer than almost any two distinct
    real images are (pixel space: a copy is a copy whatever a classifier thinks). Outlier:
    farther from every training image than the ``outlier_quantile`` quantile of the validation
    images' nearest-train distances, i.e. farther than almost any unseen real image is. Outliers
    are judged in the classifier's feature space (:func:`embed`), not in pixels: in pixel space a
    polar curve shifted by a few pixels is as far away as a different curve, so pixel distances
    reject real images' augmented copies and well-formed generated curves alike.
    """
    reference = pixel_features(train_images, size)
    train_nn, _ = nearest_distances(reference, reference, exclude_self=True)
    feature_reference = embed(classifier, train_images, size=size, device=device)
    val_nn, _ = nearest_distances(embed(classifier, val_images, size=size, device=device),
                                  feature_reference)
    return StrongChecks(classifier=classifier, size=size, reference=reference,
                        feature_reference=feature_reference, tau=tau,
                        copy_threshold=float(np.quantile(train_nn, copy_quantile)),
                        outlier_threshold=float(np.quantile(val_nn, outlier_quantile)),
                        device=device)


def strong_filter(pool: Pool, checks: StrongChecks, *, keep: int) -> pd.DataFrame:
    """Reject near-copies, outliers and unconvincing samples; keep the most confident per pool."""
    _check_keep(keep)
    table = pool.frame()
    features, probs = judge(checks.classifier, pool.images, size=checks.size,
                            device=checks.device)
    confidence = probs[np.arange(len(pool.labels)), pool.labels.astype(int)]
    distance, _ = nearest_distances(pixel_features(pool.images, checks.size), checks.reference)
    feature_distance, _ = nearest_distances(features, checks.feature_reference)
    reason = np.full(len(table), KEPT_REASON, dtype=object)
    # Assigned in reverse priority so that the most serious applicable reason wins.
    reason[confidence < checks.tau] = LOW_CONFIDENCE
    reason[feature_distance > checks.outlier_threshold] = OUTLIER
    reason[distance < checks.copy_threshold] = NEAR_COPY
    passed = reason == KEPT_REASON
    kept = _quota(passed, confidence, table, keep)
    reason[passed & ~kept] = SURPLUS
    table[KEPT] = kept
    table[REASON] = reason.astype(str)
    table[SCORE] = confidence
    table[NN_DISTANCE] = distance
    table[FEATURE_DISTANCE] = feature_distance
    return table


def apply_filters(pool: Pool, checks: StrongChecks, *, keep: int, region: str = "whole",
                  corner_fraction: float = 0.25, direction: str = "low"
                  ) -> dict[str, pd.DataFrame]:
    """The per-sample table of each filter in :data:`FILTERS`, all on the same pool."""
    return {"none": no_filter(pool, keep=keep),
            "symp": symp_filter(pool, keep=keep, region=region,
                                corner_fraction=corner_fraction, direction=direction),
            "strong": strong_filter(pool, checks, keep=keep)}


