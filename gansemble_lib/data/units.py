"""Units of evaluation: outer folds of the real data, or independent simulated replicates.

Every learning and selecting stage runs once per *unit*, in ``folds/<unit>/`` (see
:mod:`..pipeline.folds`). There are two designs (``evaluation.design``):

- ``cv``: the units are the outer folds of one dataset, ``r{repeat}f{fold}`` (``split`` for a
  single train/val/test split). The folds share training data, so the verdicts across them use
  the correlated t-test (:mod:`.crossval`). The only design for real or imported data.
- ``replicates``: for data made by the simulator, each unit ``rep{r:02d}`` is a *new dataset*
  drawn from the same calibrated simulator with the same class counts as ``data/raw``, split
  once into train and validation, plus its own large fresh test set with the same class
  proportions (the smallest class at least ``evaluation.replicate_test_min`` spectra). The
  replicates share nothing, so the verdicts across them use a test for independent units.

**Seeds per unit.** Every section's ``seed`` (classifier initialisation, augmentation stream,
generator, filter pools, oracle draws) is shifted per unit by :func:`unit_seed`, and a
replicate's spectra come from the simulator under its own seed, so no two units ever share a
random draw. Inside a stage, seeds are ``seed + i`` for small ``i`` (classifier seeds, repeats,
pool rounds), always below :data:`SEED_STRIDE`, so the seed ranges of two units never overlap.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.constants import FOLDS_FILE, PREPARED_INFO_FILE, SAMPLE_ID
from ..core.errors import DataError

CV, REPLICATES, AUTO = "cv", "replicates", "auto"
DESIGNS = (AUTO, CV, REPLICATES)
SEED_STRIDE = 1_000_000  # seeds of one unit: unit_seed(base) .. unit_seed(base) + SEED_STRIDE - 1
MAX_FOLDS = 20  # evaluation.folds is at most this (config): repeat r, fold k -> r * 20 + k
TEST_FIRST = 2_000_000  # stream index of a replicate's first fresh test spectrum per class
_CV_UNIT = re.compile(r"^r(\d+)f(\d+)$")
_CV_SPLIT = re.compile(r"^r(\d+)split$")
_REPLICATE = re.compile(r"^rep(\d+)$")


def replicate_names(replicates: int) -> list[str]:
    return [f"rep{r:02d}" for r in range(replicates)]


def unit_position(unit: str) -> int | None:
    """0, 1, 2 ... for the units of a design (None for a single ``split``: the base seeds)."""
    if unit == "split":
        return None
    for pattern, position in ((_CV_UNIT, lambda r, k: int(r) * MAX_FOLDS + int(k)),
                              (_CV_SPLIT, lambda r: int(r)),
                              (_REPLICATE, lambda r: int(r))):
        match = pattern.match(unit)
        if match:
            return position(*match.groups())
    raise DataError(f"{unit!r} is not the name of a unit",
                    fix="units are r<repeat>f<fold>, r<repeat>split, split or rep<NN>")


def unit_seed(base: int, unit: str | None) -> int:
    """The seed a stage uses in ``unit``: its section's ``seed`` shifted by the unit's place."""
    position = None if unit is None else unit_position(unit)
    return int(base) if position is None else int(base) + SEED_STRIDE * (position + 1)


def with_unit_seed(params: dict, unit: str | None) -> dict:
    """A stage's parameter values with ``seed`` (when it has one) shifted for ``unit``."""
    if unit is None or "seed" not in params:
        return params
    return {**params, "seed": unit_seed(params["seed"], unit)}


def resolve_design(design: str, simulated: bool) -> str:
    """``auto`` -> replicates for the simulator's data, cv for everything else."""
    if design == AUTO:
        return REPLICATES if simulated else CV
    if design == REPLICATES and not simulated:
        raise DataError("evaluation.design is replicates, but data/raw was not made by the "
                        "simulator: only simulated data can be drawn again",
                        path="params.yaml",
                        fix="set evaluation.design to auto or cv for real or imported data")
    return design


def fresh_test_counts(class_counts: dict[str, int], smallest: int) -> dict[str, int]:
    """Fresh test spectra per class: the dataset's proportions, the smallest class ``smallest``."""
    low = min(class_counts.values())
    return {c: int(np.ceil(n * smallest / low)) for c, n in class_counts.items()}


PREPARED = "data/prepared"


def read_fold_table(prepared_dir: str | Path = PREPARED) -> pd.DataFrame:
    path = Path(prepared_dir) / FOLDS_FILE
    if not path.is_file():
        raise DataError(f"{FOLDS_FILE} is missing", path=prepared_dir,
                        fix="re-run the prepare stage (`dvc repro prepare`)")
    return pd.read_csv(path)


def fold_names(prepared_dir: str | Path = PREPARED) -> list[str]:
    """The units: outer folds (``r0f0`` ...) or simulated replicates (``rep00`` ...)."""
    info = json.loads((Path(prepared_dir) / PREPARED_INFO_FILE).read_text(encoding="utf-8"))
    if info.get("design") == "replicates":
        return list(info["folds"])
    return [c for c in read_fold_table(prepared_dir).columns if c != SAMPLE_ID]
