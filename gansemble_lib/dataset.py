"""Reading the prepared data (``data/prepared``) that every stage after ``prepare`` uses.

Stages get training and validation data from :meth:`PreparedData.subset`; the real test
split is only handed out by :meth:`PreparedData.test_for_evaluation`, whose name makes any
use of it in a generator, chooser or filter stand out in review (and a test checks the
generator stages never call it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .constants import (
    CLASS_INDEX,
    IMAGES_FILE,
    MANIFEST_COLUMNS,
    MANIFEST_FILE,
    PREPARED_INFO_FILE,
    SPECTRA_FILE,
    SPLIT,
    TEST,
    TRAIN,
    VAL,
)
from .errors import DataError


@dataclass(frozen=True)
class Subset:
    """Images (N, C, H, W) uint8, integer labels, and spectra (N, M) when the input had them."""

    images: np.ndarray
    labels: np.ndarray
    spectra: np.ndarray | None
    manifest: pd.DataFrame


@dataclass(frozen=True)
class PreparedData:
    root: Path
    classes: tuple[str, ...]
    info: dict
    manifest: pd.DataFrame
    images: np.ndarray
    axis: np.ndarray | None
    spectra: np.ndarray | None

    def subset(self, *splits: str) -> Subset:
        """Rows of the given splits (train and/or val only)."""
        if not splits or any(s not in (TRAIN, VAL) for s in splits):
            raise ValueError(f"subset() serves 'train' and 'val' only, got {splits}; the test "
                             "split is read with test_for_evaluation()")
        return self._rows(self.manifest[SPLIT].isin(splits).to_numpy())

    def test_for_evaluation(self) -> Subset:
        """The untouched real test split: for final evaluation only."""
        return self._rows((self.manifest[SPLIT] == TEST).to_numpy())

    def _rows(self, mask: np.ndarray) -> Subset:
        idx = np.flatnonzero(mask)
        spectra = None if self.spectra is None else self.spectra[idx]
        return Subset(self.images[idx], self.manifest[CLASS_INDEX].to_numpy()[idx], spectra,
                      self.manifest.iloc[idx].reset_index(drop=True))


def read_prepared_info(root: str | Path = "data/prepared") -> dict:
    """The prepare stage's ``info.json`` (classes, modality, counts) without loading arrays."""
    path = Path(root) / PREPARED_INFO_FILE
    if not path.is_file():
        raise DataError(f"{PREPARED_INFO_FILE} is missing", path=root,
                        fix="run the prepare stage first: `dvc repro prepare`")
    return json.loads(path.read_text(encoding="utf-8"))


def load_prepared(root: str | Path = "data/prepared") -> PreparedData:
    root = Path(root)
    for name in (MANIFEST_FILE, IMAGES_FILE, PREPARED_INFO_FILE):
        if not (root / name).is_file():
            raise DataError(f"{name} is missing", path=root,
                            fix="run the prepare stage first: `dvc repro prepare`")
    info = json.loads((root / PREPARED_INFO_FILE).read_text(encoding="utf-8"))
    manifest = pd.read_csv(root / MANIFEST_FILE, dtype={"source": str})
    if tuple(manifest.columns) != MANIFEST_COLUMNS:
        raise DataError("manifest columns are not the expected ones", path=root / MANIFEST_FILE,
                        fix=f"re-run prepare; expected {', '.join(MANIFEST_COLUMNS)}")
    images = np.load(root / IMAGES_FILE, allow_pickle=False)
    axis = spectra = None
    if (root / SPECTRA_FILE).is_file():
        with np.load(root / SPECTRA_FILE, allow_pickle=False) as archive:
            axis, spectra = archive["axis"], archive["spectra"]
    return PreparedData(root, tuple(info["classes"]), info, manifest, images, axis, spectra)
