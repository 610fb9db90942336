"""Every figure the pipeline saves is drawn here, so notebooks only call and save."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # notebooks and stages run headless

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from .constants import SPLITS  # noqa: E402
from .io_utils import atomic_file  # noqa: E402


def save_figure(fig: plt.Figure, path: str | Path, *, dpi: int = 120) -> Path:
    """Save atomically as PNG with no timestamp metadata (reruns give identical files)."""
    path = Path(path)
    with atomic_file(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=dpi, bbox_inches="tight",
                    metadata={"Software": None})
    return path


def class_count_bar(table: pd.DataFrame, *, title: str = "") -> plt.Figure:
    """Stacked-free grouped bars: samples per class in each split."""
    long = (table[[s for s in SPLITS if s in table.columns]].reset_index()
            .melt(id_vars="class", var_name="split", value_name="samples"))
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(table)), 3.6))
    sns.barplot(long, x="class", y="samples", hue="split", ax=ax, palette="deep")
    ax.set_xlabel("")
    ax.tick_params(axis="x", rotation=45)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def mean_spectra(axis: np.ndarray | None, spectra: np.ndarray | None, labels: np.ndarray,
                 classes: tuple[str, ...], *, offset: float = 1.0, title: str = "") -> plt.Figure:
    """Per-class mean spectrum with a ±1 sd band, stacked vertically by ``offset``."""
    if spectra is None or axis is None:
        raise ValueError("image input has no spectra: draw figures.mean_images instead")
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(classes) + 1.5))
    colors = sns.color_palette("husl", len(classes))
    for k, name in enumerate(classes):
        rows = spectra[labels == k]
        if len(rows) == 0:
            continue
        mean, sd = rows.mean(axis=0), rows.std(axis=0)
        base = k * offset
        ax.fill_between(axis, base + mean - sd, base + mean + sd, color=colors[k], alpha=0.25,
                        linewidth=0)
        ax.plot(axis, base + mean, color=colors[k], linewidth=1)
        ax.text(axis[-1], base + mean[-1], f" {name} (n={len(rows)})", va="center", fontsize=8)
    ax.set_xlabel("wavenumber / cm$^{-1}$")
    ax.set_ylabel("normalised intensity (stacked)")
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def mean_images(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], *,
                title: str = "") -> plt.Figure:
    """Per-class mean image (top) and pixel standard deviation (bottom), for image input:
    what is common to a class and where its images vary."""
    fig, axes = plt.subplots(2, len(classes), squeeze=False,
                             figsize=(1.2 * len(classes) + 1.2, 2.6))
    for k, name in enumerate(classes):
        rows = images[labels == k].astype(np.float64)
        for r, stat in enumerate((np.mean, np.std)):
            ax = axes[r][k]
            ax.set_xticks([])
            ax.set_yticks([])
            if len(rows):
                img = stat(rows, axis=0)
                ax.imshow(img[0] if img.shape[0] == 1 else img.mean(axis=0), cmap="gray",
                          vmin=0, vmax=255 if r == 0 else None)
        axes[0][k].set_title(f"{name} (n={len(rows)})", fontsize=8)
    axes[0][0].set_ylabel("mean", fontsize=8)
    axes[1][0].set_ylabel("sd", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def image_grid(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], *,
               per_class: int, seed: int, title: str = "", key: str = "") -> plt.Figure:
    """Rows = classes, columns = up to ``per_class`` randomly chosen images of that class;
    ``key`` (e.g. :func:`.polar.key`) is printed under the grid."""
    rng = np.random.default_rng(seed)
    tiles = []
    for k in range(len(classes)):
        idx = np.flatnonzero(labels == k)
        chosen = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        tiles.append([images[i] for i in chosen])
    fig, ax = plt.subplots(figsize=(1.1 * per_class + 1.2, 1.1 * len(classes)))
    image_mosaic(ax, tiles, row_labels=classes, columns=per_class)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout(rect=(0, 0.06 if key else 0, 1, 1))
    if key:
        fig.text(0.5, 0.01, key, ha="center", va="bottom", fontsize=7, wrap=True)
    return fig


def ink_fraction_box(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...],
                     threshold: int = 128, title: str = "") -> plt.Figure:
    """Distribution per class of the share of inked (dark) pixels per image: pixels darker
    than ``threshold`` (mid-gray), i.e. how much of the image the curve covers.

    A swarm rather than a jittered strip plot: no random jitter, so reruns give identical files.
    """
    ink = (images.reshape(len(images), -1) < threshold).mean(axis=1)
    frame = pd.DataFrame({"class": np.asarray(classes)[labels], "ink fraction": ink})
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(classes)), 3.2))
    sns.boxplot(frame, x="class", y="ink fraction", ax=ax, color="0.85", order=list(classes))
    sns.swarmplot(frame, x="class", y="ink fraction", ax=ax, size=2.5, color="0.2",
                  order=list(classes))
    ax.set_ylabel(f"ink fraction\n(share of pixels < {threshold} of 255)", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("")
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig


def chooser_heatmap(summary: pd.DataFrame, *, metric: str) -> plt.Figure:
    """Mean validation ``metric`` for every strategy (rows) x oversampling size N (columns)."""
    table = summary.pivot_table(index="name", columns="n", values=f"{metric}_mean")
    order = summary.drop_duplicates("name").sort_values("strategy")["name"]
    table = table.reindex(order)
    fig, ax = plt.subplots(figsize=(1.2 * table.shape[1] + 4, 0.38 * len(table) + 1.2))
    sns.heatmap(table, annot=True, fmt=".2f", cmap="viridis", ax=ax,
                cbar_kws={"label": f"mean {metric} (validation)"})
    ax.set_xlabel("N (images per class after oversampling)")
    ax.set_ylabel("")
    fig.tight_layout()
    return fig


def chooser_bars(summary: pd.DataFrame, *, metric: str, chosen: pd.Series) -> plt.Figure:
    """Mean ± sd of ``metric`` per candidate, grouped by strategy, one colour per N."""
    names = summary.drop_duplicates("name").sort_values("strategy")["name"].tolist()
    sizes = sorted(summary["n"].unique())
    width = 0.8 / len(sizes)
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(names) * max(1, len(sizes) / 2) + 1.5))
    colors = sns.color_palette("deep", len(sizes))
    for j, n in enumerate(sizes):
        part = summary[summary["n"] == n].set_index("name").reindex(names)
        pos = np.arange(len(names)) + (j - (len(sizes) - 1) / 2) * width
        ax.barh(pos, part[f"{metric}_mean"], height=width, xerr=part[f"{metric}_std"].fillna(0),
                color=colors[j], label=f"N = {n}", capsize=2, error_kw={"linewidth": 0.8})
    ax.axvline(chosen[f"{metric}_mean"], color="k", linestyle=":", linewidth=1,
               label=f"chosen: {chosen['name']}, N = {int(chosen['n'])}")
    ax.set_yticks(np.arange(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(f"{metric} on the validation split (mean ± sd over repeats)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3)
    fig.tight_layout()
    return fig


def example_rows(rows: dict[str, np.ndarray]) -> plt.Figure:
    """One row of images per entry of ``rows`` (title -> uint8 (K, C, H, W))."""
    cols = max(len(v) for v in rows.values())
    fig, ax = plt.subplots(figsize=(1.2 * cols + 2.2, 1.2 * len(rows)))
    image_mosaic(ax, [list(v) for v in rows.values()], row_labels=list(rows), columns=cols)
    fig.tight_layout()
    return fig


GUTTER = 2  # pixels between the tiles of a mosaic
GUTTER_GRAY = 150  # their gray level: a frame around each dark-on-white image


def mosaic_array(tiles: list[list[np.ndarray]], columns: int | None = None,
                 gutter: int = GUTTER) -> np.ndarray:
    """uint8 (C, H, W) images in rows (``tiles[r][c]``; rows may be shorter, the rest of the
    row stays white) -> one uint8 image (H', W') or (H', W', 3) with gray gutters between
    the tiles and around them."""
    first = next(img for row in tiles for img in row)
    channels, height, width = first.shape
    columns = columns or max(len(row) for row in tiles)
    shape = (gutter + len(tiles) * (height + gutter), gutter + columns * (width + gutter))
    out = np.full((channels, *shape), 255, dtype=np.uint8)
    for r in range(len(tiles)):  # gutters around the rows' tiles (only where a tile is)
        top = gutter + r * (height + gutter)
        for c in range(len(tiles[r])):
            left = gutter + c * (width + gutter)
            out[:, top - gutter:top + height + gutter, left - gutter:left + width + gutter] = \
                GUTTER_GRAY
            out[:, top:top + height, left:left + width] = tiles[r][c]
    return out[0] if channels == 1 else out.transpose(1, 2, 0)


def image_mosaic(ax: plt.Axes, tiles: list[list[np.ndarray]], *, row_labels=None,
                 column_labels=None, columns: int | None = None) -> None:
    """Draw images as one mosaic in one axes (:func:`mosaic_array`), the row labels on the
    left and the column labels on top: one ``imshow`` instead of an axes per image, which
    costs matplotlib about 10 ms each (a generator's sample grids at every checkpoint were a
    sixth of its training task)."""
    ax.set_xticks([])
    ax.set_yticks([])
    if not any(len(row) for row in tiles):
        return  # nothing to show (e.g. no image of any class): an empty panel
    mosaic = mosaic_array(tiles, columns)
    height, width = next(img for row in tiles for img in row).shape[1:]
    # nearest: generated pixels shown as they are, not smoothed (and the PNG stays small)
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    centre = GUTTER + np.arange(max(len(tiles), 1)) * (height + GUTTER) + (height - 1) / 2
    ax.set_yticks(centre[:len(row_labels)] if row_labels is not None else [])
    if row_labels is not None:
        ax.set_yticklabels(row_labels, fontsize=8)
    n_columns = columns or max(len(row) for row in tiles)
    across = GUTTER + np.arange(n_columns) * (width + GUTTER) + (width - 1) / 2
    ax.xaxis.tick_top()
    ax.set_xticks(across[:len(column_labels)] if column_labels is not None else [])
    if column_labels is not None:
        ax.set_xticklabels(column_labels, fontsize=7)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _show(ax: plt.Axes, img: np.ndarray) -> None:
    # nearest: generated pixels shown as they are, not smoothed (and the PNG stays small)
    ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0), cmap="gray", vmin=0,
              vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def class_sample_grid(samples: np.ndarray, classes: tuple[str, ...], *, title: str = ""
                      ) -> plt.Figure:
    """Generated images, one row per class: ``samples`` is uint8 (classes, n, C, H, W).

    Column j uses the same noise in every row, so differences down a column are the label's.
    """
    n_classes, n = samples.shape[:2]
    fig, ax = plt.subplots(figsize=(0.9 * n + 1.2, 0.9 * n_classes))
    image_mosaic(ax, [list(row) for row in samples], row_labels=classes)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def training_progress(snapshots: dict[int, np.ndarray], classes: tuple[str, ...], *,
                      max_columns: int = 8) -> plt.Figure:
    """The first sample of every class (rows) at each checkpoint (columns), fixed noise.

    With more checkpoints than ``max_columns`` an evenly spaced selection is shown, always
    including the last.
    """
    steps = sorted(snapshots)
    if len(steps) > max_columns:
        picks = np.unique(np.linspace(0, len(steps) - 1, max_columns).round().astype(int))
        steps = [steps[i] for i in picks]
    fig, ax = plt.subplots(figsize=(0.9 * len(steps) + 1.2, 0.9 * len(classes)))
    image_mosaic(ax, [[snapshots[step][k, 0] for step in steps] for k in range(len(classes))],
                 row_labels=classes, column_labels=[f"step {step}" for step in steps])
    fig.tight_layout()
    return fig


def gan_losses(log: pd.DataFrame, *, smooth: int = 10) -> plt.Figure:
    """D and G losses (left) and the mean discriminator output on real and generated images
    (right) per step, with a centred rolling mean of ``smooth`` steps over the raw curve."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4))
    palette = sns.color_palette("deep", 4)
    for ax, columns, label in ((left, ("d_loss", "g_loss"), "loss"),
                               (right, ("d_real", "d_fake"), "mean D output")):
        for column in columns:
            color = palette[("d_loss", "g_loss", "d_real", "d_fake").index(column)]
            ax.plot(log["step"], log[column], color=color, alpha=0.25, linewidth=0.8)
            ax.plot(log["step"], log[column].rolling(smooth, center=True, min_periods=1).mean(),
                    color=color, linewidth=1.5, label=column)
        ax.set_xlabel("step")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def nearest_neighbour_panel(samples: np.ndarray, neighbours: np.ndarray, distances: np.ndarray,
                            sample_labels: np.ndarray, neighbour_labels: np.ndarray,
                            classes: tuple[str, ...], *, reference: float | None = None
                            ) -> plt.Figure:
    """Pairs of a generated image and its nearest real training image, with their distance.

    ``reference`` (e.g. the median train-to-train nearest distance) is printed beside each
    distance: a ratio far below 1 means the generator is reproducing a training image.
    """
    fig, axes = plt.subplots(2, len(samples), squeeze=False, figsize=(1.3 * len(samples) + 1, 3))
    for j in range(len(samples)):
        _show(axes[0][j], samples[j])
        _show(axes[1][j], neighbours[j])
        axes[0][j].set_title(classes[sample_labels[j]], fontsize=7)
        text = f"{classes[neighbour_labels[j]]}\nd = {distances[j]:.3f}"
        if reference:
            text += f" ({distances[j] / reference:.2f}×)"
        axes[1][j].set_xlabel(text, fontsize=7)
    axes[0][0].set_ylabel("generated", fontsize=8)
    axes[1][0].set_ylabel("nearest real", fontsize=8)
    fig.tight_layout()
    return fig


def vae_loss_curves(losses: pd.DataFrame, classes: tuple[str, ...]) -> plt.Figure:
    """Per-class VAE training curves: total, reconstruction and KL (nats per image) by epoch.

    The KL panel also shows the warm-up's KL weight (dotted, right axis), since the total
    only means something once that weight has reached its final value.
    """
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    colors = sns.color_palette("husl", len(classes))
    for k, name in enumerate(classes):
        part = losses[losses["class_index"] == k]
        for ax, column in zip(axes, ("total", "reconstruction", "kl"), strict=True):
            ax.plot(part["epoch"], part[column], color=colors[k], linewidth=1, label=name)
    for ax, column in zip(axes, ("total", "reconstruction", "KL"), strict=True):
        ax.set_title(column, fontsize=9)
        ax.set_xlabel("epoch")
        ax.set_yscale("log")  # early epochs are orders of magnitude above the rest
    axes[0].set_ylabel("nats per image")
    weight = losses.drop_duplicates("epoch")
    twin = axes[2].twinx()
    twin.plot(weight["epoch"], weight["kl_weight"], color="k", linestyle=":", linewidth=1)
    twin.set_ylabel("KL weight (dotted)", fontsize=8)
    fig.tight_layout()
    fig.legend(*axes[0].get_legend_handles_labels(), fontsize=7, loc="center left",
               bbox_to_anchor=(1.0, 0.5))
    return fig


def reconstruction_pairs(real: np.ndarray, recon: np.ndarray, labels: np.ndarray,
                         classes: tuple[str, ...], *, per_class: int) -> plt.Figure:
    """Rows = classes; columns alternate a real image and its reconstruction (first images)."""
    tiles = []
    for k in range(len(classes)):
        idx = np.flatnonzero(labels == k)[:per_class]
        tiles.append([image for i in idx for image in (real[i], recon[i])])
    fig, ax = plt.subplots(figsize=(0.9 * 2 * per_class + 1.2, 0.9 * len(classes)))
    image_mosaic(ax, tiles, row_labels=classes, columns=2 * per_class,
                 column_labels=["real" if j % 2 == 0 else "VAE" for j in range(2 * per_class)])
    fig.tight_layout()
    return fig


def interpolation_strips(strips: dict[str, np.ndarray], alphas: np.ndarray) -> plt.Figure:
    """One row per entry: real image A, the decoded path for each alpha, real image B.

    ``strips`` maps a row title to uint8 (len(alphas) + 2, C, H, W), the real ends included,
    so the reader can see how far the decoded ends (alpha 0 and 1) are from the real images.
    """
    titles = ["real A", *(f"α = {a:.2g}" for a in alphas), "real B"]
    fig, ax = plt.subplots(figsize=(0.9 * len(titles) + 1.2, 0.95 * len(strips)))
    image_mosaic(ax, [list(images) for images in strips.values()], row_labels=list(strips),
                 column_labels=titles)
    fig.tight_layout()
    return fig
