"""Why the paper's MPcGAN ignores its labels: an ablation of its conditioning against steps.

Usage (after `make reproduce`, or anywhere data/prepared exists):
    python benchmarks/bench_mpcgan_ablation.py --variant NAME [--seed 0] [--unit rep00]
        [--checkpoints 300,1000,1500]
    python benchmarks/bench_mpcgan_ablation.py --plot

Trains one variant of the MPcGAN port (laptop sizes from params.yaml's cgan section: image
size, width, batch, z, embedding) on one unit's training data and, at each checkpoint step,
measures:

* the project's gate (:mod:`gansemble_lib.evaluation.gate`, the judge of stage 03 on spectra:
  decoded
  class means): validity, its label-shuffled null, within-class diversity, pass/fail;
* the discriminator's label accuracy: on the unit's real validation images, how often the
  label that D scores highest is the image's own (chance = 1 / classes); a D that never
  learns this cannot teach G its classes;
* G's label-to-noise ratio: rms change of G's output when only the label changes, over the
  rms change when only the noise changes (0 = the label does nothing).

Variants (training set ``faithful`` = every class topped up to the authors' 35 images with
masked copies, strategy 4, which keeps the label; ``pick`` = the unit's chooser pick, what the
paper's text describes and stage 03's mpcgan_aug trains on):

    ported          the port as the authors' code (faithful set)
    ported_pick     the same on the chooser's pick
    lr_equal        lr_g = lr_d = 2e-4
    labelmap_x20    the label maps of G and D multiplied by 20
    acgan           + an auxiliary classifier head on D (AC-GAN losses, Odena et al. 2017):
                    stage 03's mpcgan_ac (ours, not the paper's)
    projection      + projection term in D (zero-initialised class embedding . features)
    projection_lr   projection + lr_g = 2e-4: stage 03's mpcgan_proj (ours, not the paper's)

One CPU thread each; run two at once on two cores. Writes
`benchmarks/results/mpcgan_ablation__<variant>__s<seed>.csv`; `--plot` summarises every file
into `benchmarks/results/mpcgan_ablation.{md,png}` and writes a sample grid per variant.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path("benchmarks/results")
PREFIX = "mpcgan_ablation"
VARIANTS = ("ported", "ported_pick", "lr_equal", "labelmap_x20", "acgan", "projection",
            "projection_lr")
PROBE = 64  # samples for G's label-to-noise ratio


def training_set(name: str, data, unit: str, seed: int, per_class: int):
    """The chooser's pick, or the authors' balanced set with stage 03's strategy and count.

    The balanced set is drawn with seed ``[seed, strategy]``, as for the committed curves;
    stage 03's :func:`cgan_stage.balanced_set` also mixes in ``per_class``, so its draw
    differs (same recipe, other copies).
    """
    from gansemble_lib.augment.images import oversample
    from gansemble_lib.core.constants import TRAIN
    from gansemble_lib.evaluation import cgan_stage

    train = data.subset(TRAIN)
    if name == "ported_pick":
        return cgan_stage.augmented_set(Path("folds") / unit / "data/augmented",
                                        len(data.classes))
    strategy = cgan_stage.FAITHFUL_STRATEGY
    images, labels, _ = oversample(train.images, train.labels, target=per_class,
                                   strategy=strategy,
                                   seed=np.random.SeedSequence([seed, strategy]))
    return images, labels


def build(name: str, image_shape, n_classes: int, params):
    """Generator, discriminator and optimisers of a variant (the library's networks)."""
    import torch

    from gansemble_lib.generators.cgan_models import LabelMap, MpcganDiscriminator, MpcganGenerator

    g = MpcganGenerator(image_shape=image_shape, n_classes=n_classes, z_dim=params.z_dim,
                        width=params.width, embedding=params.label_embedding)
    d = MpcganDiscriminator(image_shape=image_shape, n_classes=n_classes, width=params.width,
                            embedding=params.label_embedding, dropout=params.dropout,
                            projection=name.startswith("projection"),
                            auxiliary=name == "acgan")
    if name == "labelmap_x20":
        for module in (*g.modules(), *d.modules()):
            if isinstance(module, LabelMap):
                module.register_forward_hook(lambda _m, _i, out: out * 20.0)
    lr_g = params.lr_d if name in ("lr_equal", "projection_lr") else params.lr_g
    betas = (params.beta1, params.beta2)
    opt_g = torch.optim.Adam(g.parameters(), lr=lr_g, betas=betas)
    opt_d = torch.optim.Adam(d.parameters(), lr=params.lr_d, betas=betas)
    return g, d, opt_g, opt_d


def recipe(name: str) -> str:
    from gansemble_lib.generators.gan_training import ACGAN_RECIPE, MPCGAN_RECIPE

    return ACGAN_RECIPE if name == "acgan" else MPCGAN_RECIPE


def d_label_accuracy(d, images, labels, n_classes: int) -> float:
    """Share of real images whose highest-scoring label (D's, or the AC head's) is their own."""
    import torch

    from gansemble_lib.generators.interface import from_uint8

    d.eval()
    x = from_uint8(images)
    with torch.no_grad():
        if d.classifier is not None:
            best = d.heads(x, torch.as_tensor(labels))[1].argmax(dim=1).numpy()
        else:
            scores = torch.stack([d(x, torch.full((len(x),), k, dtype=torch.long))
                                  for k in range(n_classes)], dim=1)
            best = scores.argmax(dim=1).numpy()
    d.train()
    return float(np.mean(best == labels))


def label_noise_ratio(g, z_dim: int, n_classes: int, seed: int) -> float:
    import torch

    rng = torch.Generator().manual_seed(seed)
    z, z2 = torch.randn(PROBE, z_dim, generator=rng), torch.randn(PROBE, z_dim, generator=rng)
    y = torch.randint(n_classes, (PROBE,), generator=rng)
    y2 = (y + torch.randint(1, n_classes, (PROBE,), generator=rng)) % n_classes
    g.eval()
    with torch.no_grad():
        base = g(z, y)
        by_label = (g(z, y2) - base).pow(2).mean().sqrt()
        by_noise = (g(z2, y) - base).pow(2).mean().sqrt()
    g.train()
    return float(by_label / by_noise)


def measure(args) -> None:
    import torch

    from gansemble_lib.core.constants import TRAIN, VAL
    from gansemble_lib.core.params_io import load_params
    from gansemble_lib.data.dataset import load_prepared
    from gansemble_lib.evaluation import cgan_stage, gan_checks, gate
    from gansemble_lib.generators import cgan
    from gansemble_lib.generators.gan_training import GanSetup, acgan_step, mpcgan_step
    from gansemble_lib.generators.interface import from_uint8
    from gansemble_lib.pipeline.folds import write_fold_view

    torch.set_num_threads(1)
    view = Path("folds") / args.unit / "data/prepared"
    if not (view / "info.json").is_file():
        write_fold_view(args.unit)
    data = load_prepared(view)
    train, val = data.subset(TRAIN), data.subset(VAL)
    n_classes = len(data.classes)
    params = load_params("params.yaml", "cgan")
    images, labels = training_set(args.variant, data, args.unit, args.seed,
                                  params.faithful_per_class)
    torch.manual_seed(args.seed)
    g, d, opt_g, opt_d = build(args.variant, tuple(images.shape[1:]), n_classes, params)
    setup = GanSetup(generator=g, discriminator=d, opt_g=opt_g, opt_d=opt_d,
                     recipe=recipe(args.variant), z_dim=params.z_dim, n_classes=n_classes)
    step_fn = acgan_step if d.classifier is not None else mpcgan_step
    x, y = from_uint8(images), torch.as_tensor(labels, dtype=torch.long)
    rng = torch.Generator().manual_seed(args.seed)
    geometry = cgan_stage.geometry(data)
    reference = gan_checks.class_mean_predictions(
        val.images, train.images, train.labels, n_classes=n_classes, geometry=geometry)
    reference = float((reference == val.labels).mean())
    sampler = cgan.CganGenerator(g, classes=data.classes, image_shape=tuple(images.shape[1:]),
                                 z_dim=params.z_dim)
    checkpoints = sorted(int(s) for s in args.checkpoints.split(","))
    rows, step, seconds = [], 0, 0.0
    for target in checkpoints:
        started = time.perf_counter()
        while step < target:
            step_fn(setup, x, y, params.batch_size, rng)
            step += 1
        seconds += time.perf_counter() - started
        samples, sample_labels = cgan_stage.evaluation_samples(
            sampler, params.eval_per_class, seed=params.seed + 1)
        g.train()
        predicted = gan_checks.class_mean_predictions(
            samples, train.images, train.labels, n_classes=n_classes, geometry=geometry)
        size = samples.shape[-1]
        spread = gan_checks.within_class_spread(
            gan_checks.pixel_features(samples, size), sample_labels,
            gan_checks.pixel_features(train.images, size), train.labels)
        record = gate.gate(predicted, sample_labels, reference=reference, spread_ratio=spread,
                           judge=cgan_stage.SPECTRAL_JUDGE,
                           margins=load_params("params.yaml", "gate"))
        rows.append({
            "variant": args.variant, "seed": args.seed, "unit": args.unit, "steps": step,
            "training_images": len(labels), "train_seconds": round(seconds, 1),
            "validity": record[gate.VALIDITY], "validity_null": record[gate.NULL],
            "validity_real": record[gate.REFERENCE], "diversity": record[gate.DIVERSITY],
            "status": record[gate.STATUS],
            "d_label_accuracy": d_label_accuracy(d, val.images, val.labels, n_classes),
            "g_label_noise_ratio": label_noise_ratio(g, params.z_dim, n_classes, args.seed)})
        print(f"{args.variant} s{args.seed} step {step}: validity {record['validity']:.2f} "
              f"(null {record['validity_null']:.2f}), diversity {record['diversity']:.2f}, "
              f"D label acc {rows[-1]['d_label_accuracy']:.2f}, G label/noise "
              f"{rows[-1]['g_label_noise_ratio']:.3f}, {seconds:.0f} s -> {record['status']}",
              flush=True)
        if step == checkpoints[-1] and args.seed == 0:
            grid = cgan.per_class_grid(sampler, 6)
            np.save(RESULTS / f"{PREFIX}__{args.variant}__grid.npy", grid)
    RESULTS.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(RESULTS / f"{PREFIX}__{args.variant}__s{args.seed}.csv",
                              index=False, lineterminator="\n")


def plot() -> None:
    import matplotlib

    from gansemble_lib.core.params_io import load_params

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gansemble_lib.evaluation import gate

    files = sorted(RESULTS.glob(f"{PREFIX}__*__s*.csv"))
    if not files:
        raise SystemExit(f"no {PREFIX}__*.csv in {RESULTS}: run a variant first")
    frame = pd.concat([pd.read_csv(p) for p in files], ignore_index=True)
    order = [v for v in VARIANTS if v in set(frame["variant"])]
    stats = ["validity", "diversity", "d_label_accuracy", "g_label_noise_ratio"]
    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    for variant in order:
        group = frame[frame["variant"] == variant].groupby("steps")[stats]
        mean, low, high = group.mean(), group.min(), group.max()
        for ax, stat in zip(axes, stats, strict=True):
            line, = ax.plot(mean.index, mean[stat], marker="o", label=variant)
            ax.fill_between(mean.index, low[stat], high[stat], color=line.get_color(),
                            alpha=0.15)
    titles = ("gate validity (class-mean match)", "within-class spread / real",
              "D label accuracy (real val.)", "G output: label / noise effect")
    for ax, title in zip(axes, titles, strict=True):
        ax.set(xlabel="generator updates", title=title)
    axes[0].axhline(frame["validity_null"].mean(), ls=":", c="grey", lw=1)
    axes[1].axhline(load_params("params.yaml", "gate").diversity_min, ls="--", c="grey", lw=1)
    axes[3].legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=8)
    fig.suptitle(f"MPcGAN conditioning ablation (unit {frame['unit'].iloc[0]}, "
                 f"{frame['seed'].nunique()} seeds; lines: mean, bands: min-max)")
    fig.tight_layout()
    fig.savefig(RESULTS / f"{PREFIX}.png", dpi=110)
    table = frame.groupby(["variant", "steps"], sort=False).agg(
        seeds=("seed", "nunique"), validity=("validity", "mean"),
        validity_sd=("validity", "std"), null=("validity_null", "mean"),
        diversity=("diversity", "mean"), d_label_acc=("d_label_accuracy", "mean"),
        g_label_noise=("g_label_noise_ratio", "mean"),
        passed=("status", lambda s: f"{int((s == gate.PASSED).sum())}/{len(s)}"),
        seconds=("train_seconds", "mean")).reset_index()
    table["variant"] = pd.Categorical(table["variant"], order, ordered=True)
    table = table.sort_values(["variant", "steps"])
    text = (f"MPcGAN conditioning ablation, unit {frame['unit'].iloc[0]} of the default data, "
            "laptop sizes of params.yaml, one CPU thread per run; mean over seeds "
            "(`passed` = seeds whose samples pass the gate). Written by "
            "`benchmarks/bench_mpcgan_ablation.py --plot`.\n\n")
    (RESULTS / f"{PREFIX}.md").write_text(
        text + table.to_markdown(index=False, floatfmt=".3f") + "\n", encoding="utf-8")
    print(table.to_string(index=False))
    grids = [(v, RESULTS / f"{PREFIX}__{v}__grid.npy") for v in order]
    grids = [(v, np.load(p)) for v, p in grids if p.is_file()]
    if grids:
        fig, axes = plt.subplots(1, len(grids), figsize=(3 * len(grids), 5))
        for ax, (variant, grid) in zip(np.atleast_1d(axes), grids, strict=True):
            classes, per, _, h, w = grid.shape
            mosaic = grid[:, :, 0].transpose(0, 2, 1, 3).reshape(classes * h, per * w)
            ax.imshow(mosaic, cmap="gray", vmin=0, vmax=255)
            last = int(frame.loc[(frame["variant"] == variant) & (frame["seed"] == 0),
                                 "steps"].max())
            ax.set(title=f"{variant} ({last} steps)", xticks=[],
                   yticks=np.arange(classes) * h + h / 2,
                   yticklabels=[f"class {k}" for k in range(classes)] if ax is axes[0] else [])
        fig.suptitle("samples at the last checkpoint, seed 0: one row per class, same noise "
                     "in every row (identical rows = the label is ignored)")
        fig.tight_layout()
        fig.savefig(RESULTS / f"{PREFIX}_samples.png", dpi=110)


def main() -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"  # before torch is imported (inside the functions above)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=VARIANTS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unit", default="rep00")
    parser.add_argument("--checkpoints", default="300,1000,1500")
    parser.add_argument("--plot", action="store_true", help="only summarise the result files")
    parser.add_argument("--force", action="store_true", help="rerun a finished variant/seed")
    args = parser.parse_args()
    if not args.plot:
        if not args.variant:
            parser.error("--variant is required")
        RESULTS.mkdir(parents=True, exist_ok=True)
        done = RESULTS / f"{PREFIX}__{args.variant}__s{args.seed}.csv"
        if done.is_file() and not args.force:
            print(f"{done} exists: skipped (--force reruns it)")
            return
        started = time.perf_counter()
        measure(args)
        print(f"{args.variant} s{args.seed}: {time.perf_counter() - started:.0f} s in all")
        return
    plot()


if __name__ == "__main__":
    main()
