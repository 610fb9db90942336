"""Stage 03 glue: what a variant trains on, training it, and the numbers the stage reports.

A variant is an architecture (``mpcgan``, ``modern`` or ``spectrum``) and its training data
(``train``: the real train split; ``augmented``: the chooser's augmented set in
``data/augmented``). dvc.yaml lists the variants; this module keeps the notebook free of
branching. Only TRAIN (and, as a reference for the checks, VALIDATION) data are read here.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..augment.images import oversample
from ..augment.spectra import SpectralSource
from ..core.config import CganParams, GateParams, SpectralAugmentParams
from ..core.constants import CLASS_INDEX, IMAGES_FILE, MANIFEST_FILE, SPECTRA, TRAIN, VAL
from ..core.errors import DataError
from ..data.dataset import PreparedData
from ..data.polar import PolarGeometry
from ..generators.cgan import steps_for
from ..generators.cgan import train as train_image_gan
from ..generators.cgan_models import MODERN, MPCGAN, MPCGAN_AC, MPCGAN_PROJ
from ..generators.gan_training import LOSS_COLUMNS, TrainingRun
from ..generators.spectrum_gan import ARCHITECTURE as SPECTRUM
from ..generators.spectrum_gan import train as train_spectrum_gan
from . import gate
from .chooser import SPECTRAL
from .gan_checks import (
    SPREAD_RATIO,
    NearestReal,
    class_mean_agreement,
    class_mean_predictions,
    within_class_spread,
)
from .neighbours import pixel_features

ARCHITECTURES = (MPCGAN, MPCGAN_AC, MPCGAN_PROJ, MODERN, SPECTRUM)
PLAIN, AUGMENTED, SPECTRAL_AUG, BALANCED = "train", "augmented", "spectral", "balanced"
TRAINING_DATA = (PLAIN, AUGMENTED, SPECTRAL_AUG, BALANCED)
FAITHFUL_STRATEGY = 4  # the authors' masked copies (discs and bars): keeps the label

# Keys of reports/metrics/03_<variant>.json
VARIANT, ARCHITECTURE, TRAINING_DATA_KEY = "variant", "architecture", "training_data"
N_TRAINING, STEPS, BATCH_SIZE = "n_training_images", "steps", "batch_size"
TRAIN_SECONDS, IMAGES_PER_SECOND, STAGE_SECONDS = ("train_seconds", "images_per_second",
                                                   "stage_seconds")
PEAK_RSS_MIB, FINAL_LOSSES, NEAREST, CHEMISTRY = ("peak_rss_mib", "final_losses",
                                                  "nearest_neighbour", "spectral_check")
N_PARAMETERS = "generator_parameters"


def check_variant(architecture: str, training_data: str) -> None:
    if architecture not in ARCHITECTURES:
        raise DataError(f"unknown architecture {architecture!r}",
                        fix=f"use one of: {', '.join(ARCHITECTURES)}")
    if training_data not in TRAINING_DATA:
        raise DataError(f"unknown training data {training_data!r}",
                        fix=f"use one of: {', '.join(TRAINING_DATA)}")
    if architecture == SPECTRUM and training_data != PLAIN:
        raise DataError("the spectrum GAN trains on the train split's spectra; the augmented "
                        "set holds images only", fix="use training_data train")


def augmented_set(augmented_dir: str | Path, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """The chooser's augmented training set: uint8 images and their class indices."""
    root = Path(augmented_dir)
    for name in (IMAGES_FILE, MANIFEST_FILE):
        if not (root / name).is_file():
            raise DataError(f"{name} is missing", path=root,
                            fix="run the chooser first: `dvc repro choose`")
    images = np.load(root / IMAGES_FILE, allow_pickle=False)
    labels = pd.read_csv(root / MANIFEST_FILE)[CLASS_INDEX].to_numpy()
    if len(images) != len(labels) or labels.min() < 0 or labels.max() >= n_classes:
        raise DataError("images and manifest do not match the prepared classes", path=root,
                        fix="rerun the chooser on the current prepared data")
    return images, labels


def spectral_set(augmented_dir: str | Path, prepared: PreparedData, *, seed: int,
                 bounds: SpectralAugmentParams) -> tuple[np.ndarray, np.ndarray]:
    """The train split topped up with the chooser's best label-preserving spectral candidate
    (``chosen.json``'s ``spectral`` entry): strategy and N picked on validation data."""
    path = Path(augmented_dir) / "chosen.json"
    if not path.is_file():
        raise DataError("chosen.json is missing", path=path,
                        fix="run the chooser first: `dvc repro choose`")
    best = json.loads(path.read_text(encoding="utf-8")).get(SPECTRAL)
    train = prepared.subset(TRAIN)
    source = SpectralSource.of(prepared, train, bounds)
    if not best or source is None:
        raise DataError("the chooser scored no spectral strategy (image data, or 16-18 not in "
                        "choose.strategies)", path=path,
                        fix="train this variant on spectra with strategies 16-18 in the chooser")
    images, labels, _ = oversample(train.images, train.labels, target=best["n"],
                                   strategy=best["strategy"], source=source,
                                   seed=np.random.SeedSequence([seed, best["strategy"],
                                                                best["n"]]))
    return images, labels


def balanced_set(prepared: PreparedData, *, per_class: int, seed: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The GANsemble authors' MPcGAN training set: the train split with every class topped up
    to ``per_class`` images by masked copies of its own images (strategy 4, label-keeping).
    A class that already has more keeps all of its images."""
    train = prepared.subset(TRAIN)
    images, labels, _ = oversample(train.images, train.labels, target=per_class,
                                   strategy=FAITHFUL_STRATEGY,
                                   seed=np.random.SeedSequence([seed, FAITHFUL_STRATEGY,
                                                                per_class]))
    return images, labels


def variant_training_set(*, training_data: str, prepared: PreparedData,
                         augmented_dir: str | Path, params: CganParams,
                         bounds: SpectralAugmentParams) -> tuple[np.ndarray, np.ndarray]:
    """The images (and class indices) an image cGAN variant trains on (``bounds``: those of
    the spectral augmentation behind the ``spectral`` training set)."""
    train = prepared.subset(TRAIN)
    if training_data == PLAIN:
        return train.images, train.labels
    if training_data == AUGMENTED:
        return augmented_set(augmented_dir, len(prepared.classes))
    if training_data == SPECTRAL_AUG:
        return spectral_set(augmented_dir, prepared, seed=params.seed, bounds=bounds)
    if training_data == BALANCED:
        return balanced_set(prepared, per_class=params.faithful_per_class, seed=params.seed)
    raise DataError(f"unknown training data {training_data!r}",
                    fix=f"use one of: {', '.join(TRAINING_DATA)}")


def train_variant(*, architecture: str, training_data: str, prepared: PreparedData,
                  augmented_dir: str | Path, params: CganParams, model_dir: str | Path,
                  bounds: SpectralAugmentParams, progress: bool = True, device: str = "auto"
                  ) -> tuple[TrainingRun, int]:
    """Train one variant; returns the run and how many training samples it saw."""
    check_variant(architecture, training_data)
    train = prepared.subset(TRAIN)
    if architecture == SPECTRUM:
        run = train_spectrum_gan(train.spectra, train.labels, prepared.classes,
                                 info=prepared.info, params=params, model_dir=model_dir,
                                 progress=progress, device=device)
        return run, len(train.labels)
    images, labels = variant_training_set(training_data=training_data, prepared=prepared,
                                          augmented_dir=augmented_dir, params=params,
                                          bounds=bounds)
    run = train_image_gan(images, labels, prepared.classes, architecture=architecture,
                          params=params, model_dir=model_dir, progress=progress,
                          device=device)
    return run, len(labels)


def evaluation_samples(generator, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` samples of every class (class k drawn with seed ``seed + k``)."""
    images = [generator.generate(k, per_class, seed + k) for k in range(len(generator.classes))]
    return np.concatenate(images), np.repeat(np.arange(len(generator.classes)), per_class)


def first_of_each_class(labels: np.ndarray) -> np.ndarray:
    """Index of the first sample of each class present, in class order (for panels)."""
    return np.array([np.flatnonzero(labels == k)[0] for k in np.unique(labels)])


def final_losses(log: pd.DataFrame) -> dict[str, float]:
    """Mean of each curve over the last tenth of the steps: one step is too noisy to report."""
    tail = log.tail(max(1, len(log) // 10))
    return {column: float(tail[column].mean()) for column in LOSS_COLUMNS}


def geometry(prepared: PreparedData) -> PolarGeometry:
    """The polar geometry ``prepare`` rendered with (decoding must use the same)."""
    params = prepared.info["params"]
    return PolarGeometry(size=params["image_size"], line_width=params["line_width"])


def checks(samples: np.ndarray, labels: np.ndarray, prepared: PreparedData,
           near: NearestReal) -> dict:
    """Nearest-real summary (of ``near``, from :func:`gan_checks.nearest_real`), and for
    spectra the class-mean spectral check, of the samples."""
    train, val = prepared.subset(TRAIN), prepared.subset(VAL)
    result = {NEAREST: near.summary(labels, train.labels), CHEMISTRY: None}
    if prepared.info.get("modality") == SPECTRA:  # decoding a photo would mean nothing
        result[CHEMISTRY] = class_mean_agreement(
            samples, labels, train.images, train.labels, n_classes=len(prepared.classes),
            geometry=geometry(prepared), val_images=val.images, val_labels=val.labels)
    return result


GATE = "gate"
IMAGE_JUDGE = "LeNet trained on the train split"
SPECTRAL_JUDGE = "decoded spectrum vs train class means"


def gate_record(samples: np.ndarray, sample_labels: np.ndarray, prepared: PreparedData, *,
                spread_ratio: float, margins: GateParams, seed: int) -> dict:
    """The gate (:mod:`gate`) of one generator's samples, judged on held-in data only.

    Spectra: the class whose train mean the decoded sample correlates with best; images: a
    LeNet trained on the train split. Either way the reference is the share real validation
    data reach with the same judge.
    """
    from .classifiers import predict, to_tensor
    from .symp_filter import train_domain_classifier

    train, val = prepared.subset(TRAIN), prepared.subset(VAL)
    n_classes = len(prepared.classes)
    if prepared.info.get("modality") == SPECTRA:
        def judge(images: np.ndarray) -> np.ndarray:
            return class_mean_predictions(images, train.images, train.labels,
                                          n_classes=n_classes, geometry=geometry(prepared))
        name = SPECTRAL_JUDGE
    else:
        model = train_domain_classifier(train.images, train.labels, n_classes=n_classes,
                                        seed=seed)

        def judge(images: np.ndarray) -> np.ndarray:
            return predict(model, to_tensor(images, 32), device=torch.device("cpu"))
        name = IMAGE_JUDGE
    reference = float(np.mean(judge(val.images) == val.labels)) if len(val.labels) \
        else float("nan")  # no validation data: the gate says it cannot measure
    return gate.gate(judge(samples), sample_labels, reference=reference,
                     spread_ratio=spread_ratio, judge=name, margins=margins, seed=seed)


def sample_gate(generator, prepared: PreparedData, *, per_class: int, margins: GateParams,
                seed: int) -> dict:
    """Draw ``per_class`` samples per class and gate them (for generators other than stage 03's
    cGANs, e.g. the class VAEs), with stage 03's seeds: samples from ``seed + 1``, the judge
    from ``seed``."""
    samples, labels = evaluation_samples(generator, per_class, seed + 1)
    train = prepared.subset(TRAIN)
    size = train.images.shape[-1]
    spread = within_class_spread(pixel_features(samples, size), labels,
                                 pixel_features(train.images, size), train.labels)
    return gate_record(samples, labels, prepared, spread_ratio=spread, margins=margins,
                       seed=seed)


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def metrics_record(*, variant: str, architecture: str, training_data: str, run: TrainingRun,
                   n_training: int, params: CganParams, generator_parameters: int,
                   check_results: dict, stage_seconds: float,
                   gate_result: dict | None = None) -> dict:
    """Everything reports/metrics/03_<variant>.json holds, rounded for readable diffs."""
    return {
        VARIANT: variant, ARCHITECTURE: architecture, TRAINING_DATA_KEY: training_data,
        N_TRAINING: n_training, STEPS: steps_for(architecture, params),
        BATCH_SIZE: params.batch_size,
        N_PARAMETERS: generator_parameters,
        TRAIN_SECONDS: round(run.train_seconds, 2),
        IMAGES_PER_SECOND: round(run.images_per_second, 1),
        STAGE_SECONDS: round(stage_seconds, 2), PEAK_RSS_MIB: round(peak_rss_mib(), 1),
        FINAL_LOSSES: {k: round(v, 4) for k, v in final_losses(
            pd.DataFrame(run.log.rows)).items()},
        **{key: None if value is None else {k: round(v, 4) for k, v in value.items()}
           for key, value in check_results.items()},
        GATE: gate_result,
    }


def stage_summary(metrics: dict) -> str:
    """One line for the terminal: what was trained and whether its samples know their class."""
    near = metrics.get(NEAREST) or {}
    chemistry = metrics.get(CHEMISTRY)
    parts = [f"{metrics[VARIANT]} ({metrics[ARCHITECTURE]} on {metrics[TRAINING_DATA_KEY]}): "
             f"{metrics[STEPS]} steps, {metrics[TRAIN_SECONDS]:.0f} s of training"]
    if chemistry:
        parts.append(f"class-mean match {chemistry['class_mean_match']:.2f} "
                     f"(real validation {chemistry['class_mean_match_val']:.2f})")
    if near.get(SPREAD_RATIO) is not None:
        parts.append(f"within-class spread {near[SPREAD_RATIO]:.2f}x real")
    if metrics.get(GATE):
        parts.append(f"gate: {metrics[GATE][gate.STATUS]}")
    return "; ".join(parts)


def summary_line(variant: str, run: TrainingRun, n_training: int) -> str:
    resumed = f", resumed from step {run.resumed_from}" if run.resumed_from else ""
    return (f"train_cgan {variant}: {run.steps_run} new steps{resumed} on {n_training} samples, "
            f"{run.train_seconds:.1f} s of training in total, {run.images_per_second:.0f} "
            f"images/s, peak RSS {peak_rss_mib():.0f} MiB")
