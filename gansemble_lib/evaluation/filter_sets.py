"""What stage 04 leaves behind: every filter's kept set on disk (``<source>__<filter>.npz``),
each pooled image's fate (``<source>__decisions.csv``) and the index later stages read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..core.io_utils import atomic_file
from .symp_filter import KEPT, Pool

INDEX_FILE = "index.csv"


def kept_set(pool: Pool, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The images and class indices a filter kept, in pool order."""
    mask = table[KEPT].to_numpy()
    return pool.images[mask], pool.labels[mask]


def set_path(directory: str | Path, source: str, filter_name: str) -> Path:
    """Where the set of one source after one filter lives: ``<source>__<filter>.npz``."""
    return Path(directory) / f"{source}__{filter_name}.npz"


def save_set(path: str | Path, images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...],
             spectra: np.ndarray | None = None, **meta: str) -> None:
    """A filtered set as ``.npz``: images (N, C, H, W) uint8, class_index, classes, metadata,
    and the source's own spectra when it has them."""
    extra = {k: np.asarray(v) for k, v in meta.items()}
    if spectra is not None:
        extra["spectra"] = np.asarray(spectra, dtype=np.float32)
    with atomic_file(path, "wb") as handle:
        np.savez_compressed(handle, images=images, class_index=labels.astype(np.int64),
                            classes=np.asarray(classes), **extra)


def load_set(path: str | Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Read a set written by :func:`save_set`: (images, class indices, class names)."""
    with np.load(path, allow_pickle=False) as archive:
        return (archive["images"], archive["class_index"],
                tuple(str(c) for c in archive["classes"]))


def save_filtered_sets(directory: str | Path, source: str, pool: Pool,
                       results: dict[str, pd.DataFrame], classes: tuple[str, ...]
                       ) -> list[dict]:
    """Write every filter's kept set of one source, and every pooled image's fate under each
    filter (``<source>__decisions.csv``); return rows for the sets' index."""
    decisions = pd.concat([t.assign(filter=f) for f, t in results.items()], ignore_index=True)
    with atomic_file(Path(directory) / f"{source}__decisions.csv", "w", encoding="utf-8",
                     newline="") as handle:
        decisions.to_csv(handle, index=False, float_format="%.6g", lineterminator="\n")
    rows = []
    for filter_name, table in results.items():
        images, labels = kept_set(pool, table)
        spectra = None if pool.spectra is None else pool.spectra[table[KEPT].to_numpy()]
        path = set_path(directory, source, filter_name)
        save_set(path, images, labels, classes, spectra, source=source, filter=filter_name)
        rows.append({"source": source, "filter": filter_name, "file": path.name,
                     "images": len(labels)})
    return rows


def write_index(directory: str | Path, rows: list[dict]) -> None:
    """``index.csv`` listing every set, so later stages read exactly what this one wrote."""
    with atomic_file(Path(directory) / INDEX_FILE, "w", encoding="utf-8", newline="") as handle:
        pd.DataFrame(rows).to_csv(handle, index=False, lineterminator="\n")


def load_sets(directory: str | Path, classes: tuple[str, ...]
              ) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Every set listed in the index: {(source, filter): (images, class indices)}.

    Sets made for other classes (a stale directory) are refused rather than mislabelled.
    """
    index = pd.read_csv(Path(directory) / INDEX_FILE)
    sets = {}
    for row in index.itertuples(index=False):
        images, labels, set_classes = load_set(Path(directory) / row.file)
        if set_classes != tuple(classes):
            raise ValueError(f"{row.file} was made for classes {set_classes}, not {classes}; "
                             "rerun the symp_filter stage")
        sets[(row.source, row.filter)] = (images, labels)
    return sets


def load_set_spectra(directory: str | Path) -> dict[tuple[str, str], np.ndarray]:
    """The sources' own spectra of every set that has them: {(source, filter): (N, M)}."""
    index = pd.read_csv(Path(directory) / INDEX_FILE)
    out = {}
    for row in index.itertuples(index=False):
        with np.load(Path(directory) / row.file, allow_pickle=False) as archive:
            if "spectra" in archive.files:
                out[(row.source, row.filter)] = archive["spectra"].astype(np.float64)
    return out


