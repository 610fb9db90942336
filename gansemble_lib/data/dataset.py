"""Reading the prepared data (``data/prepared``) that every stage after ``prepare`` uses.

Stages get training and validation data from :meth:`PreparedData.subset`; the real test
split is only handed out by :meth:`PreparedData.test_for_evaluation`.

**The fence.** Stages that learn or select (:data:`FENCED_STAGES`: the chooser, the generators,
the VAEs, the filters) run with the environment variable :data:`FENCE_ENV` set to ``1``;
:mod:`.runner` sets it around their notebooks with :func:`fence_test_split`, and the notebook's
kernel inherits it. Under the fence :func:`load_prepared` does not keep the test rows at all (nor
the ``unused`` ones): only the train and validation rows stay in memory, so no code path of the
stage can reach a held-out sample. The loaded object also refuses what could only serve to look
for them: :meth:`PreparedData.test_for_evaluation` and any use of the whole-dataset fields
(``manifest``, ``images``, ``spectra``) raise :class:`FencedSplitError`, so a cell that filters
the manifest by hand (``data.manifest.query("split == 'test'")``) stops the stage instead of
quietly finding nothing. ``tests/test_isolation.py`` runs the real notebooks under the fence.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.config import PrepareParams
from ..core.constants import (
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
from ..core.errors import DataError
from ..core.params_io import from_mapping
from .polar import PolarGeometry

FENCE_ENV = "GANSEMBLE_FENCE_TEST"
# Per-fold stages that learn or select: they run under the fence (see the module docstring).
FENCED_STAGES = frozenset({"choose", "train_cgan", "train_vae", "symp_filter"})
# Per-fold stages that score against the fold's held-out part, so cannot run fenced. What they
# learn (stage 05's feature extractor, stage 05b's cGANs) is learnt before their first read of
# the held-out part, and tests/test_isolation.py runs them fenced up to that read.
SCORING_STAGES = frozenset({"fidelity", "paper_table", "downstream"})
HELD_IN = (TRAIN, VAL)
WHOLE_DATASET_FIELDS = ("manifest", "images", "spectra")


class FencedSplitError(RuntimeError):
    """A stage running under the fence reached for the test split."""


def fence_message(what: str) -> str:
    return (f"the test split is fenced off in this stage ({FENCE_ENV}=1): {what} is refused; "
            f"only the train and validation rows were loaded, read them with "
            f"data.subset({TRAIN!r}, {VAL!r})")


def fence_active() -> bool:
    """Whether this process runs under the fence (``FENCE_ENV`` set to 1)."""
    return os.environ.get(FENCE_ENV, "") == "1"


def fenced_stage(stage: str) -> bool:
    """Whether a pipeline stage (``train_cgan@mpcgan_aug`` or ``choose``) runs fenced."""
    return stage.partition("@")[0] in FENCED_STAGES


@contextlib.contextmanager
def fence_test_split(stage: str) -> Iterator[bool]:
    """Set ``FENCE_ENV=1`` while ``stage`` runs, when it is a fenced stage (processes started
    meanwhile, such as a notebook's kernel, inherit it); yields whether the fence is up.
    Other stages run in the environment as it is."""
    if not fenced_stage(stage):
        yield fence_active()
        return
    before = os.environ.get(FENCE_ENV)
    os.environ[FENCE_ENV] = "1"
    try:
        yield True
    finally:
        if before is None:
            os.environ.pop(FENCE_ENV, None)
        else:
            os.environ[FENCE_ENV] = before


class _Fenced:
    """Stands in for a whole-dataset field of fenced prepared data: every use of it raises."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def _refuse(self, *args, **kwargs):
        raise FencedSplitError(fence_message(f"PreparedData.{self._name} (every split)"))

    def __getattr__(self, attribute: str):
        if attribute.startswith("__") and attribute.endswith("__"):
            raise AttributeError(attribute)  # copy, pickle and friends probing for protocols
        self._refuse()

    __getitem__ = __len__ = __iter__ = __contains__ = __array__ = __bool__ = _refuse

    def __repr__(self) -> str:
        return f"<PreparedData.{self._name}: fenced off ({FENCE_ENV}=1)>"


@dataclass(frozen=True)
class Subset:
    """Images (N, C, H, W) uint8, integer labels, and spectra (N, M) when the input had them."""

    images: np.ndarray
    labels: np.ndarray
    spectra: np.ndarray | None
    manifest: pd.DataFrame


@dataclass(frozen=True)
class PreparedData:
    """The prepared data. ``held_in`` is set only under the fence: then it holds the train and
    validation rows, the only ones loaded, and the whole-dataset fields are fenced off."""

    root: Path
    classes: tuple[str, ...]
    info: dict
    manifest: pd.DataFrame
    images: np.ndarray
    axis: np.ndarray | None
    spectra: np.ndarray | None
    held_in: Subset | None = None

    @property
    def fenced(self) -> bool:
        return self.held_in is not None

    @property
    def image_shape(self) -> tuple[int, ...]:
        """(C, H, W) of every image."""
        return tuple((self.held_in.images if self.fenced else self.images).shape[1:])

    def subset(self, *splits: str) -> Subset:
        """Rows of the given splits (train and/or val only)."""
        if not splits or any(s not in HELD_IN for s in splits):
            raise ValueError(f"subset() serves 'train' and 'val' only, got {splits}; the test "
                             "split is read with test_for_evaluation()")
        rows = self.held_in if self.fenced else self._everything()
        return _take(rows, rows.manifest[SPLIT].isin(splits).to_numpy())

    def test_for_evaluation(self) -> Subset:
        """The untouched real test split: for final evaluation only (refused under the fence)."""
        if self.fenced:
            raise FencedSplitError(fence_message("test_for_evaluation()"))
        rows = self._everything()
        return _take(rows, (rows.manifest[SPLIT] == TEST).to_numpy())

    def _everything(self) -> Subset:
        return Subset(self.images, self.manifest[CLASS_INDEX].to_numpy(), self.spectra,
                      self.manifest)


def _take(rows: Subset, mask: np.ndarray) -> Subset:
    idx = np.flatnonzero(mask)
    spectra = None if rows.spectra is None else rows.spectra[idx]
    return Subset(rows.images[idx], rows.labels[idx], spectra,
                  rows.manifest.iloc[idx].reset_index(drop=True))


def read_prepared_info(root: str | Path = "data/prepared") -> dict:
    """The prepare stage's ``info.json`` (classes, modality, counts) without loading arrays."""
    path = Path(root) / PREPARED_INFO_FILE
    if not path.is_file():
        raise DataError(f"{PREPARED_INFO_FILE} is missing", path=root,
                        fix="run the prepare stage first: `dvc repro prepare`")
    return json.loads(path.read_text(encoding="utf-8"))


def load_prepared(root: str | Path = "data/prepared") -> PreparedData:
    """The prepared data; under the fence (:data:`FENCE_ENV`) its train and validation rows
    only, with the test split refused (see the module docstring)."""
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
    fenced = fence_active()
    # Under the fence the images are mapped, not read, so that only held-in rows are copied.
    images = np.load(root / IMAGES_FILE, allow_pickle=False, mmap_mode="r" if fenced else None)
    axis = spectra = None
    if (root / SPECTRA_FILE).is_file():
        with np.load(root / SPECTRA_FILE, allow_pickle=False) as archive:
            axis, spectra = archive["axis"], archive["spectra"]
    if not fenced:
        return PreparedData(root, tuple(info["classes"]), info, manifest, images, axis, spectra)
    idx = np.flatnonzero(manifest[SPLIT].isin(HELD_IN).to_numpy())
    held_in = Subset(np.array(images[idx]), manifest[CLASS_INDEX].to_numpy()[idx],
                     None if spectra is None else spectra[idx],
                     manifest.iloc[idx].reset_index(drop=True))
    del images, spectra, manifest
    return PreparedData(root, tuple(info["classes"]), info, *(
        _Fenced(name) if name != "axis" else axis for name in
        ("manifest", "images", "axis", "spectra")), held_in=held_in)


# --------------------------------------------------------------------------- rendering

RENDER_KEYS = ("image_size", "line_width", "channels")  # what fixes the rendered image


def prepare_params_from_info(info: dict) -> PrepareParams:
    """The prepare stage's parameters as recorded in ``data/prepared/info.json``."""
    return PrepareParams(**info["params"])


def geometry_from_info(info: dict) -> PolarGeometry:
    """The polar geometry the prepared images were rendered with (see polar.render_spectra)."""
    params = prepare_params_from_info(info)
    return PolarGeometry(size=params.image_size, line_width=params.line_width)


def render_params(info: dict) -> PrepareParams:
    """The geometry ``prepare`` used, from ``info.json``'s parameters."""
    return from_mapping("prepare", {k: info["params"][k] for k in RENDER_KEYS},
                        source="data/prepared/info.json")
