"""Numbers behind notebook 01: class counts, imbalance ratios, pixel statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.constants import (
    CLASS_COUNTS,
    IMBALANCE_RATIO,
    INK_FRACTION,
    LABEL,
    MEAN_PIXEL,
    N_CLASSES,
    N_SAMPLES,
    SPLIT,
    SPLITS,
    TRAIN,
    UNUSED,
)

INK_THRESHOLD = 128  # a pixel darker than mid-gray counts as part of the drawn curve


def class_count_table(manifest: pd.DataFrame, classes: tuple[str, ...]) -> pd.DataFrame:
    """Samples per class (rows, in class order) and split (columns), with a total."""
    table = pd.crosstab(manifest[LABEL], manifest[SPLIT]).reindex(index=list(classes),
                                                                  fill_value=0)
    columns = [s for s in (*SPLITS, UNUSED) if s in table.columns or s in SPLITS]
    table = table.reindex(columns=columns, fill_value=0)
    table["total"] = table.sum(axis=1)
    table.index.name = "class"
    return table


def imbalance_ratio(counts: pd.Series | np.ndarray) -> float:
    """Largest class count over smallest non-zero one (1.0 = balanced)."""
    counts = np.asarray(counts, dtype=float)
    counts = counts[counts > 0]
    return float(counts.max() / counts.min())


def pixel_statistics(images: np.ndarray, labels: np.ndarray,
                     classes: tuple[str, ...]) -> pd.DataFrame:
    """Per class: mean pixel value, its spread over images, and the share of inked pixels."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    per_image = pd.DataFrame({
        "class": np.asarray(classes)[labels],
        MEAN_PIXEL: flat.mean(axis=1),
        INK_FRACTION: (flat < INK_THRESHOLD).mean(axis=1),
    })
    stats = per_image.groupby("class", sort=False).agg(
        n=(MEAN_PIXEL, "size"), mean_pixel=(MEAN_PIXEL, "mean"), mean_pixel_sd=(MEAN_PIXEL, "std"),
        ink_fraction=(INK_FRACTION, "mean"), ink_fraction_sd=(INK_FRACTION, "std"))
    return stats.reindex([c for c in classes if c in set(per_image["class"])])


def data_label(info: dict) -> str:
    """Which samples data/prepared's split columns describe, for the figures' titles: outer
    fold r0f0 (folds.csv holds the others), the embedded draw's one split under the
    replicates design (each replicate is a fresh draw of its own), or the one split."""
    n = info.get("n_samples")
    if info.get("design") == "replicates":
        return (f"embedded dataset ({n} spectra, one split; each replicate is a fresh draw "
                "of its own)")
    if info.get("outer_folds", 1) > 1:
        return (f"outer fold {info.get('manifest_split')} of {info['outer_folds']} "
                f"({n} samples)")
    return f"{n} samples, one split"


def explore_metrics(table: pd.DataFrame, stats: pd.DataFrame) -> dict:
    """The metrics DVC tracks for stage 01 (train statistics; counts of every split)."""
    return {
        N_SAMPLES: int(table["total"].sum()),
        N_CLASSES: int(len(table)),
        IMBALANCE_RATIO: {"total": imbalance_ratio(table["total"]),
                          TRAIN: imbalance_ratio(table[TRAIN])},
        CLASS_COUNTS: {split: {str(c): int(n) for c, n in table[split].items()}
                       for split in table.columns},
        MEAN_PIXEL: float(np.average(stats[MEAN_PIXEL], weights=stats["n"])),
        INK_FRACTION: float(np.average(stats[INK_FRACTION], weights=stats["n"])),
    }
