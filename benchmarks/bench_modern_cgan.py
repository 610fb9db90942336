"""Does the modern image cGAN learn its classes, and at what budget? Gate curves against steps.

Usage (after `make reproduce`, or anywhere data/prepared exists):
    python benchmarks/bench_modern_cgan.py --config NAME [--fold r0f0] [--steps 1200]
        [--every 200] [--set KEY=VALUE ...] [--data train|augmented|spectral]

Trains the modern cGAN of stage 03 on one fold's training part (a fold view is written when
missing) with the cgan settings of params.yaml changed by ``--set`` (e.g. ``--set
batch_size=32 --set diffaugment=translation --set diversity_weight=1``), and every ``--every``
steps measures the gate of :mod:`gansemble_lib.evaluation.gate`
on the fold's train/validation parts:
validity (class-mean match of decoded samples), its label-shuffled null, and within-class
diversity against real data. Training resumes between measurements, so a curve costs one run.
Writes `benchmarks/results/modern_cgan_curves__<config>.csv`; `--plot` draws every config's
file into `benchmarks/results/modern_cgan_curves.{png,md}`. One thread: run two configs at once
on two cores.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

RESULTS = Path("benchmarks/results")
PREFIX = "modern_cgan_curves"
TARGET_VALIDITY = 0.8


def _value(text: str):
    return yaml.safe_load(text)


def measure(config: str, args) -> None:
    import torch

    from gansemble_lib.core.constants import TRAIN, VAL
    from gansemble_lib.core.params_io import load_params
    from gansemble_lib.data.dataset import load_prepared
    from gansemble_lib.evaluation import cgan_stage, gan_checks, gate
    from gansemble_lib.generators import cgan
    from gansemble_lib.generators.gan_training import CHECKPOINT_FILE
    from gansemble_lib.generators.interface import load_generator
    from gansemble_lib.pipeline.folds import write_fold_view

    torch.set_num_threads(1)
    view = Path("folds") / args.fold / "data/prepared"
    if not (view / "info.json").is_file():
        write_fold_view(args.fold)
    data = load_prepared(view)
    train, val = data.subset(TRAIN), data.subset(VAL)
    params = load_params("params.yaml", "cgan")
    changes = dict(item.split("=", 1) for item in args.set)
    params = dataclasses.replace(params, **{k: _value(v) for k, v in changes.items()},
                                 checkpoint_every=args.every)
    if args.data == "spectral" and args.strategy is not None:  # a given spectral candidate
        import numpy as np

        from gansemble_lib.augment.images import oversample
        from gansemble_lib.augment.spectra import SpectralSource

        images, labels, _ = oversample(
            train.images, train.labels, target=args.n, strategy=args.strategy,
            source=SpectralSource.of(data, train, load_params("params.yaml",
                                                              "spectral_augment")),
            seed=np.random.SeedSequence([params.seed, args.strategy, args.n]))
    else:
        images, labels = cgan_stage.variant_training_set(
            training_data=args.data, prepared=data,
            augmented_dir=Path("folds") / args.fold / "data/augmented", params=params)
    geometry = cgan_stage.geometry(data)
    reference = gan_checks.class_mean_predictions(
        val.images, train.images, train.labels, n_classes=len(data.classes), geometry=geometry)
    reference = float((reference == val.labels).mean())
    rows = []
    with tempfile.TemporaryDirectory() as model_dir:
        for steps in range(args.every, args.steps + 1, args.every):
            run = cgan.train(images, labels, data.classes, architecture="modern",
                             params=dataclasses.replace(params, modern_steps=steps),
                             model_dir=model_dir, progress=False, write_grids=False)
            generator = load_generator(f"{model_dir}/{CHECKPOINT_FILE}")
            samples, sample_labels = cgan_stage.evaluation_samples(
                generator, params.eval_per_class, seed=params.seed + 1)
            predicted = gan_checks.class_mean_predictions(
                samples, train.images, train.labels, n_classes=len(data.classes),
                geometry=geometry)
            spread = gan_checks.within_class_spread(
                gan_checks.pixel_features(samples, samples.shape[-1]), sample_labels,
                gan_checks.pixel_features(train.images, samples.shape[-1]), train.labels)
            record = gate.gate(predicted, sample_labels, reference=reference,
                               spread_ratio=spread, judge="decoded class means",
                               margins=load_params("params.yaml", "gate"))
            rows.append({"config": config, "data": args.data, "settings": " ".join(args.set),
                         "fold": args.fold, "steps": steps,
                         "train_seconds": round(run.train_seconds, 1), **record})
            print(f"{config} step {steps}: validity {record['validity']:.2f} "
                  f"(null {record['validity_null']:.2f}), diversity {record['diversity']:.2f}, "
                  f"{run.train_seconds:.0f} s -> {record['status']}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(RESULTS / f"{PREFIX}__{config}.csv", index=False,
                              lineterminator="\n")


def plot() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gansemble_lib.core.params_io import load_params

    minimum = load_params("params.yaml", "gate").diversity_min  # the gate's margin
    frame = pd.concat([pd.read_csv(p) for p in sorted(RESULTS.glob(f"{PREFIX}__*.csv"))],
                      ignore_index=True)
    frame["settings"] = frame["settings"].fillna("params.yaml")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for config, group in frame.groupby("config", sort=False):
        x = group["steps"]  # the README argues in steps; seconds are in the table
        style = "--" if str(config).startswith("literature_") else "-"  # the earlier data
        axes[0].plot(x, group["validity"], marker="o", ls=style, label=config)
        axes[1].plot(x, group["diversity"], marker="o", ls=style, label=config)
    axes[0].axhline(TARGET_VALIDITY, ls="--", c="grey", lw=1)
    axes[0].set(xlabel="generator steps", ylabel="validity (class-mean match)",
                ylim=(0, 1.05), title="learnt its classes?")
    axes[1].axhline(minimum, ls="--", c="grey", lw=1)
    axes[1].set(xlabel="generator steps",
                ylabel="within-class spread / real", title="varied within a class?")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(RESULTS / f"{PREFIX}.png", dpi=120)
    summary = frame.loc[frame.groupby("config", sort=False)["steps"].idxmax()].copy()
    hit = frame[(frame["validity"] >= TARGET_VALIDITY) & (frame["diversity"] >= minimum)]
    first = hit.groupby("config")["steps"].min()
    summary["first step at target"] = summary["config"].map(first).astype("Int64")
    summary["seconds to target"] = summary["config"].map(
        hit.groupby("config")["train_seconds"].min())
    columns = ["config", "data", "settings", "steps", "train_seconds", "validity",
               "validity_null", "diversity", "status", "first step at target",
               "seconds to target"]
    text = (f"Target: validity >= {TARGET_VALIDITY} and diversity >= {minimum} "
            "(issue 14). Configs named literature_* ran on the first default data (the "
            "literature-band simulator), calibrated_* on the calibrated default data; both on "
            "fold r0f0. Last measurement of each curve:\n\n")
    (RESULTS / f"{PREFIX}.md").write_text(
        text + summary[columns].astype(object).fillna("never").to_markdown(index=False) + "\n")
    print(summary[columns].to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="name of this configuration (a curve)")
    parser.add_argument("--fold", default="r0f0")
    parser.add_argument("--data", default="train", choices=("train", "augmented", "spectral"))
    parser.add_argument("--strategy", type=int, help="with --data spectral: this strategy "
                        "(16-18) instead of the chooser's pick in the fold's chosen.json")
    parser.add_argument("--n", type=int, default=40, help="with --strategy: images per class")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--every", type=int, default=200)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--plot", action="store_true", help="only draw the curves file")
    args = parser.parse_args()
    if not args.plot:
        if not args.config:
            parser.error("--config is required")
        started = time.perf_counter()
        measure(args.config, args)
        print(f"{args.config}: {time.perf_counter() - started:.0f} s in all")
    plot()


if __name__ == "__main__":
    main()
