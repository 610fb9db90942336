"""The pipeline, declared once: every stage's notebook, parameter section, paths and outputs.

``dvc.yaml`` is generated from :data:`STAGES` by ``gansemble pipeline`` (``import-data`` runs it
after replacing ``data/raw``) instead of being written by hand, for three reasons:

- **One place per parameter.** A stage names its ``params.yaml`` section once; dvc.yaml tracks
  that section (``params: [cgan]``) and :mod:`.runner` hands the validated section to the
  notebook. No key is repeated in a command line, a ``params:`` list or a parameters cell.
- **Dependencies that cannot go stale.** A stage's code deps are computed from its notebook's
  import closure within ``gansemble_lib`` (plus the generator modules that ``load_generator``
  imports by kind), so an edit to any module a stage runs reruns that stage, and nothing else.
- **Modality.** Spectra and images share the pipeline, but some steps only mean something for
  spectra (the 1-D spectrum GAN, SMOTE on spectra, chemical validity, the chemist's reference,
  decoding). For images the spectrum GAN stage does not exist in the graph at all, rather than
  being a stage that must be run only to say "not applicable"; the other stages read the
  modality from ``data/prepared`` and report the spectrum-only rows as not applicable. A graph
  generated for one modality refuses data of the other at the prepare stage, with the fix.

A test checks that the committed ``dvc.yaml`` is what :func:`render_dvc_yaml` writes for the
default (spectra) data.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from ..core.config import SpectralAugmentParams
from ..core.constants import IMAGES, SPECTRA
from ..core.errors import DataError
from ..core.params_io import load_params

MODALITIES = (SPECTRA, IMAGES)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One conditional generator trained by stage 03."""

    architecture: str
    training_data: str  # "train" (the train split), "augmented" (the chooser's set),
    # "spectral" (the train split with the chooser's best label-preserving spectral strategy)
    # or "balanced" (every class topped up with masked copies, the GANsemble authors' set)
    modalities: tuple[str, ...] = MODALITIES


VARIANTS: dict[str, Variant] = {
    "mpcgan_noaug": Variant("mpcgan", "train"),
    "mpcgan_aug": Variant("mpcgan", "augmented"),
    # the authors' own training set (balanced by masked copies), and our conditioning fix on it
    "mpcgan_faithful": Variant("mpcgan", "balanced"),
    "mpcgan_ac": Variant("mpcgan_ac", "balanced"),
    "mpcgan_proj": Variant("mpcgan_proj", "balanced"),
    "modern_aug": Variant("modern", "augmented"),
    # the modern cGAN on label-preserving spectral augmentation (the chooser's best of 16-18)
    "modern_spec": Variant("modern", "spectral", (SPECTRA,)),
    "spectrum": Variant("spectrum", "train", (SPECTRA,)),
}
VAE_CHECKPOINT = "models/vae/vae.pt"
# Every stage marked per_fold runs inside each outer fold, in FOLDS_DIR/<fold>/ with the same
# layout as the project root (data/, models/, reports/), on that fold's view of data/prepared.
FOLDS_DIR = "folds"
FOLDS_STAGE = "folds"


def variants(modality: str, params_file: str | Path | None = "params.yaml"
             ) -> dict[str, Variant]:
    """The generator variants trained for this modality: those ``cgan.variants`` selects
    (every declared one when ``params_file`` is None).

    Images have no spectra to augment, so where ``modern_spec`` is selected for images the
    modern cGAN trains on the chooser's pick instead (``modern_aug``): image data keep a
    modern cGAN under the laptop profile.
    """
    selected = load_params(params_file, "cgan").variants if params_file else tuple(VARIANTS)
    if modality == IMAGES and "modern_spec" in selected:
        selected = (*selected, "modern_aug")
    return {name: v for name, v in VARIANTS.items()
            if modality in v.modalities and name in selected}


def generator_checkpoints(modality: str, params_file: str | Path = "params.yaml"
                          ) -> dict[str, str]:
    """name -> checkpoint of every generator the pipeline trains for this modality."""
    named = {name: f"models/cgan/{name}/checkpoint.pt"
             for name in variants(modality, params_file)}
    return {**named, "vae": VAE_CHECKPOINT}


@dataclasses.dataclass(frozen=True)
class Stage:
    """A pipeline stage. Strings may hold ``{variant}``, filled in for each generator variant.

    ``paths`` are what the notebook reads and writes, by the name it uses; ``deps`` are the data
    it reads (code deps are derived); ``borrows`` are keys of another section it also reads.
    ``outs`` and ``metrics`` become DVC outputs of a top-level stage; a per-fold stage writes
    under ``folds/<unit>/``, which the ``folds`` stage owns as one output, so it declares none.
    """

    name: str
    desc: str
    section: str | None
    notebook: str | None = None
    command: str | None = None  # a python -m gansemble_lib command, for non-notebook stages
    paths: dict[str, str] = dataclasses.field(default_factory=dict)
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    borrows: tuple[str, ...] = ()
    html: str | None = None  # also write the executed notebook as HTML without code here
    per_variant: bool = False
    per_fold: bool = False  # runs once inside every outer fold, by the `folds` stage
    spectra_outs: tuple[str, ...] = ()  # outputs that exist only for spectra
    images_outs: tuple[str, ...] = ()  # outputs that exist only for images
    first_fold_only: bool = False  # per_fold, but run in the first unit only
    first_replicate_only: bool = False  # per_fold, but under the replicates design only in the
    # first unit (a description of one dataset, not an endpoint compared across units)
    switch: str | None = None  # a bool parameter (section.key) that turns the stage on

    def outputs(self, modality: str) -> tuple[str, ...]:
        extra = self.spectra_outs if modality == SPECTRA else self.images_outs
        return (*self.outs, *extra)


_NB = "reports/notebooks"
# where networks train and score (one owner for every stage that does so)
DEVICE = ("evaluation.device",)
# the generator gate's margins: every stage that gates a generator, and 06b's rules text
GATE_MARGINS = ("gate.validity_share", "gate.diversity_min", "gate.null_shuffles")
# the spectral augmentation's bounds: every stage that augments spectra (strategies 16-18)
SPECTRAL_BOUNDS = tuple(f"spectral_augment.{f.name}"
                        for f in dataclasses.fields(SpectralAugmentParams))
STAGES: tuple[Stage, ...] = (
    Stage("prepare", "validate data/raw, preprocess spectra, render polar images, split "
          "outer folds (train/val/test each) or declare the simulated replicates", "prepare",
          command="prepare",
          deps=("data/raw",), outs=("data/prepared",),
          borrows=("evaluation.design", "evaluation.folds", "evaluation.repeats",
                   "evaluation.replicates", "evaluation.replicate_test_min")),
    Stage("explore", "01 class counts, imbalance ratios, mean spectra or images, polar image "
          "grid, pixel statistics", "explore", notebook="01_explore_imbalance",
          paths={"prepared_dir": "data/prepared", "figures_dir": "reports/figures",
                 "tables_dir": "reports/tables", "metrics_path": "reports/metrics/01_explore.json"},
          deps=("data/prepared",),
          outs=("reports/figures/01_class_counts.png", "reports/figures/01_polar_grid.png",
                "reports/figures/01_ink_fraction.png", "reports/tables/01_class_counts.csv",
                "reports/tables/01_class_counts.md", "reports/tables/01_pixel_stats.csv",
                "reports/tables/01_pixel_stats.md"),
          spectra_outs=("reports/figures/01_mean_spectra.png",),
          images_outs=("reports/figures/01_mean_images.png",),
          metrics=("reports/metrics/01_explore.json",),
          html="reports/html/01_explore_imbalance.html"),
    Stage("choose", "02 score 19 augmentation strategies (16 image, 3 spectral) x N on the "
          "validation split, pick one by rule", "choose", notebook="02_choose_augmentation",
          per_fold=True,
          paths={"prepared_dir": "data/prepared", "augmented_dir": "data/augmented",
                 "figures_dir": "reports/figures", "tables_dir": "reports/tables",
                 "chosen_path": "reports/metrics/02_chosen.json"},
          deps=("data/prepared",), borrows=(*DEVICE, *SPECTRAL_BOUNDS)),
    Stage("train_cgan", "03 train one conditional generator variant, with resume, curves and "
          "sample grids", "cgan", notebook="03_train_cgan", per_variant=True, per_fold=True,
          paths={"prepared_dir": "data/prepared", "augmented_dir": "data/augmented",
                 "model_dir": "models/cgan/{variant}", "figures_dir": "reports/figures",
                 "losses_path": "reports/plots/03_{variant}_losses.csv",
                 "metrics_path": "reports/metrics/03_{variant}.json"},
          deps=("data/prepared",), borrows=(*DEVICE, *GATE_MARGINS, *SPECTRAL_BOUNDS)),
    Stage("train_vae", "03b one VAE per class on the train split; new images by same-class "
          "latent interpolation", "vae", notebook="03b_train_vae", per_fold=True,
          paths={"prepared_dir": "data/prepared", "models_dir": "models/vae",
                 "figures_dir": "reports/figures", "plots_path": "reports/plots/03b_vae_losses.csv",
                 "metrics_path": "reports/metrics/03b_vae.json"},
          deps=("data/prepared",), borrows=(*DEVICE, *GATE_MARGINS)),
    Stage("symp_filter", "04 SYMP-Filter, a stronger filter and no filter on the same pools of "
          "every source", "symp_filter", notebook="04_symp_filter", per_fold=True,
          paths={"prepared_dir": "data/prepared", "augmented_dir": "data/augmented",
                 "synthetic_dir": "data/synthetic", "figures_dir": "reports/figures/04_filter",
                 "tables_dir": "reports/tables", "metrics_path": "reports/metrics/04_filter.json"},
          deps=("data/prepared", "data/augmented", "{checkpoints}"),
          borrows=(*DEVICE, *SPECTRAL_BOUNDS)),
    Stage("fidelity", "05 FID/KID/IS/precision-recall vs the real test split, chemical "
          "validity, memorisation", "fidelity", notebook="05_fid_is_baseline", per_fold=True,
          first_replicate_only=True,
          paths={"prepared_dir": "data/prepared", "augmented_dir": "data/augmented",
                 "synthetic_dir": "data/synthetic",
                 "domain_extractor_path": "models/fidelity/domain_extractor.pt",
                 "tables_dir": "reports/tables",
                 "metrics_path": "reports/metrics/05_fidelity.json"},
          deps=("data/prepared", "data/augmented", "data/synthetic", "{checkpoints}"),
          borrows=("symp_filter.smote_neighbors", "evaluation.null_repeats", *DEVICE,
                   *SPECTRAL_BOUNDS)),
    Stage("paper_table", "05b the paper's baseline table: MPcGAN on the data as given, random "
          "resampling and the chooser's top 3 strategies; FID/IS without and with SYMP-Filter, "
          "each generator's gate beside it", "cgan", notebook="05b_paper_table", per_fold=True,
          first_fold_only=True, switch="evaluation.paper_table",
          paths={"prepared_dir": "data/prepared", "augmented_dir": "data/augmented",
                 "tables_dir": "reports/tables", "models_dir": "models/paper_table",
                 "domain_extractor_path": "models/fidelity/domain_extractor.pt",
                 "metrics_path": "reports/metrics/05b_paper_table.json"},
          deps=("data/prepared", "data/augmented", "models/fidelity/domain_extractor.pt"),
          borrows=("symp_filter.pool_size", "symp_filter.keep", "symp_filter.region",
                   "symp_filter.corner_fraction", "symp_filter.direction",
                   "fidelity.paper_repeats", "fidelity.isc_splits", "fidelity.kid_subsets",
                   "fidelity.prc_neighborhood", "fidelity.inception_weights",
                   "fidelity.inception_torchscript", "fidelity.network", "choose.select_metric",
                   *DEVICE, *GATE_MARGINS, *SPECTRAL_BOUNDS)),
    Stage("downstream", "06 classifiers on real + each augmentation, tested on the fold's "
          "real test part, paired bootstrap", "downstream", notebook="06_downstream",
          per_fold=True,
          paths={"prepared_dir": "data/prepared", "augmented_dir": "data/augmented",
                 "synthetic_dir": "data/synthetic", "figures_dir": "reports/figures",
                 "tables_dir": "reports/tables",
                 "predictions_path": "reports/tables/06_predictions.csv",
                 "metrics_path": "reports/metrics/06_downstream.json"},
          deps=("data/prepared", "data/augmented", "data/synthetic"),
          borrows=(*DEVICE, *SPECTRAL_BOUNDS)),
    Stage("evaluate", "06b across the units (replicates or outer folds): verdicts (Bayesian "
          "t-test with a ROPE, the smallest decidable effect), t-test with Holm, pooled "
          "recall, fidelity vs a real-vs-real null", "evaluation", notebook="06b_across_folds",
          paths={"prepared_dir": "data/prepared", "folds_dir": FOLDS_DIR,
                 "figures_dir": "reports/figures", "tables_dir": "reports/tables",
                 "metrics_dir": "reports/metrics"},
          deps=("data/prepared", FOLDS_DIR), borrows=GATE_MARGINS,
          outs=("reports/tables/02_choices.csv", "reports/tables/02_choices.md",
                "reports/tables/03_generators.csv", "reports/tables/03_generators.md",
                "reports/tables/04_filter_folds.csv", "reports/tables/04_filter_folds.md",
                "reports/tables/05_fidelity_folds.csv", "reports/tables/05_fidelity_folds.md",
                "reports/tables/06_verdicts.csv", "reports/tables/06_verdicts.md",
                "reports/tables/03_gate.csv", "reports/tables/03_gate.md",
                "reports/tables/05b_paper_table.csv", "reports/tables/05b_paper_table.md",
                "reports/tables/06_per_class_recall.csv", "reports/tables/06_per_class_recall.md",
                "reports/figures/06_forest.png", "reports/figures/06_recall.png",
                "reports/figures/06_confusion.png", "reports/figures/first_unit"),
          spectra_outs=("reports/tables/06_spectrum_classifiers.csv",
                        "reports/tables/06_spectrum_classifiers.md",
                        "reports/tables/06_oracle.csv", "reports/tables/06_oracle.md",
                        "reports/tables/06_learning_curve.csv",
                        "reports/tables/06_learning_curve.md",
                        "reports/tables/06_simulated_test.csv",
                        "reports/tables/06_simulated_test.md",
                        "reports/figures/06_learning_curve.png"),
          metrics=("reports/metrics/02_chosen.json", "reports/metrics/03_generators.json",
                   "reports/metrics/04_filter.json", "reports/metrics/05_fidelity.json",
                   "reports/metrics/05b_paper_table.json", "reports/metrics/06_downstream.json"),
          html="reports/html/06b_across_folds.html"),
    Stage("report", "07 assemble tables and figures into one notebook and HTML, with a colophon",
          None, notebook="07_report",
          paths={"tables_dir": "reports/tables", "figures_dir": "reports/figures",
                 "metrics_dir": "reports/metrics", "folds_dir": FOLDS_DIR,
                 "prepared_dir": "data/prepared"},
          deps=("reports/metrics/01_explore.json", "reports/metrics/02_chosen.json",
                "reports/metrics/03_generators.json", "reports/metrics/05_fidelity.json",
                "reports/metrics/06_downstream.json", "reports/tables/01_class_counts.md",
                "reports/tables/02_choices.md", "reports/tables/03_generators.md",
                "reports/tables/04_filter_folds.md", "reports/tables/05_fidelity_folds.md",
                "reports/tables/06_verdicts.md", "reports/tables/03_gate.md",
                "reports/tables/05b_paper_table.md", "reports/metrics/05b_paper_table.json",
                "reports/figures/01_polar_grid.png", "reports/figures/06_forest.png",
                "reports/figures/06_recall.png", "reports/figures/06_confusion.png",
                "reports/figures/first_unit", FOLDS_DIR),
          html="reports/report.html"),
)
STAGE_BY_NAME = {stage.name: stage for stage in STAGES}


# --------------------------------------------------------------------------- what runs where

def switched_on(stage: Stage, params_file: str | Path | None = "params.yaml") -> bool:
    """False when the stage's switch parameter turns it off (every stage is on when
    ``params_file`` is None)."""
    if stage.switch is None or params_file is None:
        return True
    section, key = stage.switch.split(".")
    return bool(getattr(load_params(params_file, section), key))


def fold_stages(modality: str, params_file: str | Path | None = "params.yaml") -> list[str]:
    """The stages run inside each fold, in order, variants spelled out (``train_cgan@x``);
    stages switched off in ``params_file`` are left out."""
    names = []
    for stage in STAGES:
        if stage.per_fold and switched_on(stage, params_file):
            names += ([f"{stage.name}@{v}" for v in variants(modality, params_file)]
                      if stage.per_variant else [stage.name])
    return names


def runs_in_unit(name: str, unit: str, first: str, design: str = "cv") -> bool:
    """Whether the per-unit stage ``name`` runs in ``unit`` (``first``: the first unit)."""
    stage, _ = split_stage_name(name)
    if unit == first:
        return True
    return not (stage.first_fold_only or (design == "replicates" and stage.first_replicate_only))


def fold_stage_needs(name: str, stages: list[str]) -> list[str]:
    """Which of a fold's ``stages`` must finish before ``name`` starts (from what it reads)."""
    stage, variant = split_stage_name(name)
    if stage.name == "choose" or stage.name == "train_vae":
        return []
    if stage.per_variant:
        return ["choose"] if VARIANTS[variant].training_data in ("augmented", "spectral") else []
    if stage.name == "symp_filter":  # pools of every generator, plus the augmented set
        return [s for s in stages if s.startswith(("choose", "train_"))]
    if stage.name == "paper_table":  # the chooser's ranking and stage 05's extractor
        return ["choose", "fidelity"]
    return ["symp_filter"]  # fidelity and downstream read the filtered sets


# --------------------------------------------------------------------------- a stage's inputs

def split_stage_name(full: str) -> tuple[Stage, str | None]:
    """``train_cgan@modern_aug`` -> (the train_cgan stage, ``modern_aug``)."""
    name, _, variant = full.partition("@")
    if name not in STAGE_BY_NAME:
        raise DataError(f"unknown stage {name!r}",
                        fix=f"use one of: {', '.join(STAGE_BY_NAME)}")
    stage = STAGE_BY_NAME[name]
    if stage.per_variant and variant not in VARIANTS:
        raise DataError(f"stage {name} needs a generator variant, got {full!r}",
                        fix=f"use {name}@VARIANT with VARIANT one of: {', '.join(VARIANTS)}")
    if not stage.per_variant and variant:
        raise DataError(f"stage {name} has no variants, got {full!r}", fix=f"use {name}")
    return stage, variant or None


def fold_dir(fold: str) -> str:
    return f"{FOLDS_DIR}/{fold}"


def stage_paths(full: str, fold: str | None = None) -> dict[str, Any]:
    """Paths (and, for a generator variant, what it is) that the stage's notebook receives.

    A per-fold stage's paths lie under ``folds/<fold>/`` (its data/prepared is that fold's
    view, whose test part is the fold's held-out samples); ``fold`` None means the first fold.
    """
    stage, variant = split_stage_name(full)
    paths = {k: v.format(variant=variant) for k, v in stage.paths.items()}
    if stage.per_fold:
        fold = fold or first_fold()
        paths = {k: f"{fold_dir(fold)}/{v}" for k, v in paths.items()}
        paths["fold"] = fold
    if variant:
        spec = VARIANTS[variant]
        paths.update(variant=variant, architecture=spec.architecture,
                     training_data=spec.training_data)
    if "{checkpoints}" in stage.deps:
        checkpoints = generator_checkpoints(_prepared_modality(paths["prepared_dir"]))
        paths["generators"] = {k: f"{fold_dir(fold)}/{v}" for k, v in checkpoints.items()}
    return paths


def first_fold(prepared_dir: str = "data/prepared") -> str:
    from ..data.dataset import read_prepared_info

    return read_prepared_info(prepared_dir).get("folds", ["split"])[0]


def stage_params(full: str, params_file: str | Path = "params.yaml") -> dict[str, Any]:
    """The stage's validated section as plain values (plus borrowed keys, by their own name)."""
    stage, _ = split_stage_name(full)
    if stage.section is None:
        return {}
    values = dataclasses.asdict(load_params(params_file, stage.section))
    for borrowed in stage.borrows:
        section, key = borrowed.split(".")
        values[key] = getattr(load_params(params_file, section), key)
    return values


def _prepared_modality(prepared_dir: str) -> str:
    from ..data.dataset import read_prepared_info

    return read_prepared_info(prepared_dir)["modality"]
