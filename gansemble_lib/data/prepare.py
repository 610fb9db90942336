"""The ``prepare`` stage: data/raw -> working images, common-axis spectra, split manifest."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.config import EvaluationParams, PrepareParams
from ..core.constants import (
    CLASS_INDEX,
    FOLDS_FILE,
    IMAGES_FILE,
    LABEL,
    MANIFEST_COLUMNS,
    MANIFEST_FILE,
    PREPARED_INFO_FILE,
    SAMPLE_ID,
    SOURCE,
    SPECTRA,
    SPECTRA_FILE,
    SPLIT,
)
from ..core.errors import DataError, LoadReport
from ..core.io_utils import atomic_dir, write_json
from .polar import render_spectra
from .raw_data import load_raw, read_descriptor
from .splits import apply_profile, outer_folds, split_counts
from .units import CV, REPLICATES, replicate_names, resolve_design


def _spectra_arrays(raw, params: PrepareParams, report: LoadReport):
    from .preprocess import preprocess

    axis, X = preprocess(raw.spectra, start=params.axis_start, stop=params.axis_stop,
                         points=params.axis_points, baseline=params.baseline,
                         normalisation=params.normalisation, lam=params.baseline_lambda,
                         p=params.baseline_p)
    flat = np.ptp(X, axis=1) <= 0
    for i in np.flatnonzero(flat):
        report.skip(raw.spectra[i].source, "constant intensity after preprocessing")
    keep = ~flat
    labels = [s.label for s, k in zip(raw.spectra, keep, strict=True) if k]
    sources = [s.source for s, k in zip(raw.spectra, keep, strict=True) if k]
    return axis, X[keep], labels, sources


def prepare(raw_dir: str | Path, out_dir: str | Path, params: PrepareParams, *,
            modality: str | None = None, folds: int = 1, repeats: int = 1,
            evaluation: EvaluationParams | None = None) -> dict:
    """Run the stage; returns the info written to ``info.json``.

    ``modality`` is the one dvc.yaml was generated for: data of the other modality is refused
    before anything is written, since the graph would then run stages that cannot apply.
    ``evaluation`` (when given, it overrides ``folds`` and ``repeats``) chooses the design:
    under ``replicates`` the units are new simulated datasets, drawn by the folds stage
    (:mod:`.replicates`); ``data/raw`` itself is then split once, for stage 01 only.
    """
    design = CV
    if evaluation is not None:
        descriptor = read_descriptor(raw_dir)
        design = resolve_design(evaluation.design, descriptor.simulation is not None)
        folds, repeats = (1, 1) if design == REPLICATES else (evaluation.folds,
                                                               evaluation.repeats)
    started = time.perf_counter()
    descriptor = read_descriptor(raw_dir)
    if modality is not None and descriptor.modality != modality:
        raise DataError(f"{raw_dir} holds {descriptor.modality} but dvc.yaml is the pipeline "
                        f"for {modality}", path=Path(raw_dir) / "dataset.yaml",
                        fix="write the pipeline for this data with `gansemble pipeline` "
                            "(`gansemble import-data` does it), then `dvc repro`")
    raw = load_raw(raw_dir, image_size=params.image_size, channels=params.channels)
    report = raw.report
    if raw.modality == SPECTRA:
        axis, X, labels, sources = _spectra_arrays(raw, params, report)
        images = render_spectra(X, params)
    else:
        axis = X = None
        labels = [item.label for item in raw.images]
        sources = [item.source for item in raw.images]
        images = np.stack([item.pixels for item in raw.images])
    classes = list(dict.fromkeys(labels))  # order of first appearance
    assignments = outer_folds(labels, folds=folds, repeats=repeats,
                              test_fraction=params.test_fraction,
                              val_fraction=params.val_fraction, seed=params.seed)
    assignments = {name: apply_profile(labels, splits, params.imbalance_profile,
                                       ratio=params.imbalance_ratio, seed=params.seed + i)
                   for i, (name, splits) in enumerate(assignments.items())}
    fold_table = pd.DataFrame({SAMPLE_ID: np.arange(len(labels)), **assignments})
    first = next(iter(assignments))
    splits = assignments[first]  # the manifest shows the first fold; folds.csv holds them all
    manifest = pd.DataFrame({
        SAMPLE_ID: np.arange(len(labels)), LABEL: labels,
        CLASS_INDEX: [classes.index(c) for c in labels], SPLIT: splits, SOURCE: sources,
    })[list(MANIFEST_COLUMNS)]
    info = {
        "classes": classes, "modality": raw.modality, "format": descriptor.format,
        "image_shape": list(images.shape[1:]), "n_samples": len(labels),
        "counts": split_counts(labels, splits, classes),
        "skipped": [{"source": s.source, "reason": s.reason} for s in report.skipped],
        "notes": report.notes, "params": asdict(params),
        "folds": list(assignments), "outer_folds": folds, "repeats": repeats,
        "manifest_split": first, "design": design,
    }
    if design == REPLICATES:
        info.update(folds=replicate_names(evaluation.replicates),
                    replicates=evaluation.replicates,
                    replicate_test_min=evaluation.replicate_test_min)
    if descriptor.simulation is not None:  # the simulator made these data: it can make more
        info["simulation"] = descriptor.simulation
    with atomic_dir(out_dir) as tmp:
        np.save(tmp / IMAGES_FILE, images, allow_pickle=False)
        manifest.to_csv(tmp / MANIFEST_FILE, index=False, lineterminator="\n")
        fold_table.to_csv(tmp / FOLDS_FILE, index=False, lineterminator="\n")
        if X is not None:
            np.savez(tmp / SPECTRA_FILE, axis=axis, spectra=X.astype(np.float32))
        write_json(tmp / PREPARED_INFO_FILE, info)
    info["seconds"] = round(time.perf_counter() - started, 2)
    return info


def summary_line(info: dict) -> str:
    per_split = ", ".join(f"{s} {sum(info['counts'][s].values())}" for s in info["counts"])
    folds = len(info.get("folds", [1]))
    layout = (f"{info['outer_folds']}-fold x {info['repeats']}" if info.get("outer_folds", 1) > 1
              else "one split")
    where = f"{folds} fold(s); first: {per_split}"
    if info.get("design") == REPLICATES:
        layout = (f"{info['replicates']} simulated replicates, each a new dataset with a fresh "
                  "test set, drawn by the folds stage")
        where = f"this dataset split once, for stage 01: {per_split}"
    return (f"prepare: {info['n_samples']} {info['modality']}, "
            f"{len(info['classes'])} classes, images {tuple(info['image_shape'])}; {layout} "
            f"({where}; skipped {len(info['skipped'])}) in {info['seconds']} s")
