"""Draw one simulated replicate: a new dataset and its own fresh test set (design ``replicates``).

A replicate ``rep<NN>`` is made exactly as ``data/raw`` was, by the simulator with the same
settings and class counts, under its own seed (:func:`.units.unit_seed` of the simulator's
seed), then preprocessed and rendered with the prepare stage's recorded parameters. Its samples
are split once per class into train and validation (and the imbalance profile applied to
train, as for the folds); its **test part is not drawn from the dataset**: it is a separate set
of fresh spectra (stream indices from :data:`.units.TEST_FIRST`, which no dataset or oracle
draw uses) in the dataset's class proportions, the smallest class at least
``evaluation.replicate_test_min`` spectra. Macro-F1 on it is the replicate design's endpoint.

The result is written where a fold's view would be (``folds/<unit>/data/prepared``), with the
same files, so every per-unit stage runs unchanged, fenced from the test part as usual. The
replicate's ``info.json`` records its own simulator settings, so the oracle rows of stage 06
draw their fresh spectra from the replicate's stream too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.constants import (
    CLASS_INDEX,
    IMAGES_FILE,
    LABEL,
    MANIFEST_COLUMNS,
    MANIFEST_FILE,
    PREPARED_INFO_FILE,
    SAMPLE_ID,
    SOURCE,
    SPECTRA_FILE,
    SPLIT,
    TEST,
)
from ..core.errors import DataError
from ..core.io_utils import atomic_dir, write_json
from .units import TEST_FIRST, fresh_test_counts, unit_position, unit_seed


def replicate_config(info: dict, unit: str):
    """The simulator settings of replicate ``unit``: data/raw's, under the unit's own seed."""
    from .simulate import SimulationConfig

    if not info.get("simulation"):
        raise DataError("the replicates design needs data made by the simulator",
                        path="data/prepared/info.json",
                        fix="set evaluation.design to cv (or auto) for real or imported data")
    base = SimulationConfig.from_dict(info["simulation"])
    return dataclasses.replace(base, seed=unit_seed(base.seed, unit))


def replicate_split(labels: np.ndarray, *, val_fraction: float, profile: str, ratio: float,
                    seed: int) -> np.ndarray:
    """Per class: validation (at least one) and train; the imbalance profile applied to train."""
    from .splits import _inner_split, apply_profile

    assignment = np.empty(len(labels), dtype=object)
    _inner_split(labels, np.arange(len(labels)), val_fraction,
                 np.random.default_rng([seed, 3]), assignment)
    return apply_profile(labels, assignment.astype(str), profile, ratio=ratio, seed=seed)


def draw_replicate(unit: str, prepared_dir: str | Path, out_dir: str | Path) -> Path:
    """Write replicate ``unit``'s prepared data (train/val from a new dataset, a fresh test set)."""
    import json

    from ..core.records import Spectrum
    from .dataset import prepare_params_from_info
    from .polar import render_spectra
    from .preprocess import preprocess
    from .simulate import fresh_spectra, simulate
    from .splits import split_counts

    prepared_dir = Path(prepared_dir)
    info = json.loads((prepared_dir / PREPARED_INFO_FILE).read_text(encoding="utf-8"))
    if unit not in info.get("folds", []):
        raise DataError(f"no replicate {unit!r} in this design", path=prepared_dir / "info.json",
                        fix=f"use one of: {', '.join(info.get('folds', []))}")
    unit_position(unit)  # a name check
    config = replicate_config(info, unit)
    params = prepare_params_from_info(info)
    common = np.load(prepared_dir / SPECTRA_FILE)["axis"]
    axis, x, labels = simulate(config)
    counts = fresh_test_counts(dict(config.class_counts), int(info["replicate_test_min"]))
    test_x = np.vstack([fresh_spectra(config, [c], n, first=TEST_FIRST)
                        for c, n in counts.items()])
    test_labels = [c for c, n in counts.items() for _ in range(n)]
    sources = ([f"{unit}: {c} #{i}" for c, n in config.class_counts.items() for i in range(n)]
               + [f"{unit} test: {c} #{TEST_FIRST + i}" for c, n in counts.items()
                  for i in range(n)])
    all_labels = [*labels, *test_labels]
    raw = [Spectrum(label, axis, y, source)
           for label, y, source in zip(all_labels, np.vstack([x, test_x]), sources, strict=True)]
    _, spectra = preprocess(raw, start=float(common[0]), stop=float(common[-1]),
                            points=len(common), baseline=params.baseline,
                            normalisation=params.normalisation, lam=params.baseline_lambda,
                            p=params.baseline_p)
    flat = np.ptp(spectra, axis=1) <= 0
    if flat.any():
        raise DataError(f"replicate {unit}: {int(flat.sum())} simulated spectra are constant "
                        "after preprocessing", fix="check the prepare parameters")
    images = render_spectra(spectra, params)
    split = replicate_split(np.asarray(labels), val_fraction=params.val_fraction,
                            profile=params.imbalance_profile, ratio=params.imbalance_ratio,
                            seed=config.seed)
    splits = np.concatenate([split, np.full(len(test_labels), TEST)])
    classes = list(info["classes"])
    manifest = pd.DataFrame({
        SAMPLE_ID: np.arange(len(all_labels)), LABEL: all_labels,
        CLASS_INDEX: [classes.index(c) for c in all_labels], SPLIT: splits, SOURCE: sources,
    })[list(MANIFEST_COLUMNS)]
    info = {**info, "n_samples": len(all_labels), "fold": unit,
            "counts": split_counts(all_labels, splits, classes),
            "simulation": config.to_dict(), "replicate_of": info.get("simulation"),
            "skipped": [], "notes": [f"replicate {unit}: a new simulated dataset (seed "
                                     f"{config.seed}) with a fresh test set of "
                                     f"{len(test_labels)} spectra"]}
    with atomic_dir(out_dir) as tmp:
        np.save(tmp / IMAGES_FILE, images, allow_pickle=False)
        np.savez(tmp / SPECTRA_FILE, axis=common, spectra=spectra.astype(np.float32))
        manifest.to_csv(tmp / MANIFEST_FILE, index=False, lineterminator="\n")
        write_json(tmp / PREPARED_INFO_FILE, info)
    return Path(out_dir)
