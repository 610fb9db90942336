"""Named parameter profiles and the writer that turns them into ``params.yaml``.

``laptop`` is the dataclass defaults (5 simulated replicates of the default data, or 5 outer
folds of real data, the whole pipeline inside each, on a 2-core CPU within a quarter of an
hour), ``quick`` one split for a class demo, ``full`` every generator variant in every fold,
``decisive`` the laptop rows at 40 replicates for the headline verdicts, ``real`` the laptop
rows at 5 x 10 repeated outer cross-validation for committed results on real data, ``smoke``
shrinks everything for the tests, ``paper`` follows the GANsemble paper's scale (a GPU job
that also starts on CPU), ``paper_cpu`` runs the paper's table at the largest scale two CPU
cores finish in about an hour, ``fixes`` adds our two MPcGAN conditioning fixes to the laptop
rows. ``params.yaml`` is generated from these, so its comments can never
drift from the code that reads it; a test checks the committed file is the laptop profile.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from .config import SECTIONS
from .errors import DataError
from .io_utils import write_text
from .params_io import from_mapping

ALL_VARIANTS = ("mpcgan_noaug", "mpcgan_aug", "mpcgan_faithful", "mpcgan_ac", "mpcgan_proj",
                "modern_aug", "modern_spec", "spectrum")
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "laptop": {},
    # One split, for a class demo: no verdicts, only the in-split bootstrap over the test
    # samples. One classifier seed, the laptop's: with one unit the rows train one after
    # another, and 2 seeds took 5 min 32 s on 2 cores, over the 5-minute budget.
    "quick": {"evaluation": {"design": "cv", "folds": 1}},
    # Every generator variant in every unit (the laptop profile trains only the paper's MPcGAN
    # on the chooser's pick and the spectrum GAN; this adds our fixes mpcgan_ac and mpcgan_proj
    # and the modern cGAN), the paper-layout table, and 40 replicates.
    "full": {"cgan": {"variants": ALL_VARIANTS}, "choose": {"repeats": 2, "n_grid": (20, 40)},
             "vae": {"epochs": 300},
             "downstream": {"seeds": 3, "oracle_curves": ("real_only", "best_baseline",
                                                          "best_generator"),
                            "combo_sources": ("mpcgan_aug__symp", "mpcgan_ac__symp",
                                              "mpcgan_proj__symp")},
             "evaluation": {"replicates": 40, "paper_table": True}},
    # Our two fixes of the paper's conditioning (mpcgan_ac: an auxiliary-classifier head in D;
    # mpcgan_proj: a projection term with equal learning rates) beside the paper's mpcgan_aug,
    # with their GANsemble recipe rows, at the laptop's design: about 1.4 times its CPU.
    "fixes": {"cgan": {"variants": ("mpcgan_aug", "mpcgan_ac", "mpcgan_proj", "spectrum")},
              "downstream": {"combo_sources": ("mpcgan_aug__symp", "mpcgan_ac__symp",
                                               "mpcgan_proj__symp")}},
    # The headline verdicts at R = 40 on 2 CPU cores (about an hour and a half): the laptop
    # profile's rows at 40 replicates (its first 5 are the laptop run); 06b also reports the
    # first 20.
    "decisive": {"evaluation": {"replicates": 40}},
    # Committed results on real data (`make reproduce-rampp`): the laptop rows at 5 x 10 repeated
    # outer cross-validation, each repeat its own shuffle, so the verdicts' posterior is narrower
    # than at 5 x 1 (about ten times the laptop's CPU time; real data only, as the replicates
    # design ignores repeats).
    "real": {"evaluation": {"repeats": 10}},
    "smoke": {
        "prepare": {"image_size": 32, "axis_points": 256, "baseline": "rolling_min"},
        "explore": {"images_per_class": 2},
        "choose": {"strategies": (0, 7, 16), "n_grid": (8,), "repeats": 1, "steps": 3,
                   "classifier_size": 16},
        "cgan": {"variants": ALL_VARIANTS, "steps": 4, "modern_steps": 4, "proj_steps": 4,
                 "ac_steps": 4,
                 "batch_size": 8,
                 "width": 8, "checkpoint_every": 2, "eval_per_class": 2, "grid_per_class": 2,
                 "spectrum_points": 64},
        "vae": {"epochs": 2, "kl_warmup": 1, "width": 4, "latent_dim": 4, "checkpoint_every": 1},
        "symp_filter": {"pool_size": 4, "keep": 1, "rounds": 1, "epochs": 2,
                        "classifier_size": 16, "grid_per_class": 2},
        "fidelity": {"domain_epochs": 2, "domain_size": 16, "kid_subsets": 10,
                     "paper_repeats": 1},
        "downstream": {"seeds": 2, "steps": 10, "classifier_size": 16, "bootstrap": 100,
                       "oracle_curves": ("real_only", "best_baseline", "best_generator"),
                       "oracle_k": (1, 2), "simulated_test_per_class": 3},
        # one split (the spectra smoke tests set 2 folds, or the replicates design)
        "evaluation": {"design": "cv", "folds": 1, "null_repeats": 2, "replicates": 2,
                       "replicate_test_min": 3, "paper_table": True},
    },
    # The paper's table (05b) where no GPU is at hand: one split of the default data, the paper's
    # RGB images at half its size (64 px), its batch (128), generator updates (300) and learning
    # rates, and 24 convolution filters of its 128 (1.1 s per update on one core here, against
    # ~190 s at the paper's size). Two paper-protocol draws, not five: with the standard
    # Inception (`make inception`) each draw of the five sets costs ~10 min of one core.
    "paper_cpu": {"prepare": {"channels": 3},
                  "cgan": {"width": 24, "batch_size": 128, "steps": 300},
                  "fidelity": {"paper_repeats": 2},
                  "evaluation": {"design": "cv", "folds": 1, "paper_table": True}},
    "paper": {
        "prepare": {"image_size": 128, "channels": 3},
        "choose": {"repeats": 3, "n_grid": tuple(range(10, 101, 10)), "epochs": 150, "steps": 0,
                   "batch_size": 4, "optimizer": "sgd", "lr": 5.1e-4, "momentum": 0.9,
                   "classifier_size": 128},
        "cgan": {"width": 128, "batch_size": 128, "steps": 300, "modern_steps": 4000,
                 "checkpoint_every": 200, "variants": ALL_VARIANTS},
        "vae": {"width": 16, "latent_dim": 32, "epochs": 500, "kl_warmup": 150},
        "symp_filter": {"classifier_size": 128},
        "fidelity": {"domain_size": 128},
        "downstream": {"classifier": "resnet18", "classifier_size": 128, "steps": 0,
                       "epochs": 100},
        "evaluation": {"paper_table": True},
    },
}

HEADER = """\
# Pipeline parameters, one section per DVC stage (see dvc.yaml).
# Generated by `gansemble profile {name}` from the dataclasses in gansemble_lib/core/config.py,
# which document every key. Edit values freely; unknown keys or bad values fail loudly.
# Lists are comma-separated strings ("20,40") so that dvc.yaml can pass them to notebooks.
"""


def profile_params(name: str) -> dict[str, Any]:
    """Validated parameter dataclasses of a profile, keyed by section."""
    if name not in PROFILES:
        raise DataError(f"unknown profile {name!r}", fix=f"use one of: {', '.join(PROFILES)}")
    overlay = PROFILES[name]
    return {section: from_mapping(section, overlay.get(section), source=f"profile {name}")
            for section in SECTIONS}


def _scalar(value: Any) -> str:
    if isinstance(value, tuple):  # a string, so that DVC can interpolate it into a command
        value = ",".join(str(v) for v in value)
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


def render_params(name: str) -> str:
    """The text of ``params.yaml`` for a profile, with each key's help as a comment."""
    lines = [HEADER.format(name=name).rstrip()]
    for section, params in profile_params(name).items():
        lines += ["", f"{section}:  # {type(params).__doc__.strip().splitlines()[0]}"]
        for field in dataclasses.fields(params):
            value = _scalar(getattr(params, field.name))
            lines.append(f"  {field.name}: {value}  # {field.metadata['help']}")
    return "\n".join(lines) + "\n"


def write_profile(name: str, path: str | Path = "params.yaml") -> Path:
    write_text(path, render_params(name))
    return Path(path)
