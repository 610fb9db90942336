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
                 classes: tuple[str, ...], *, offset: float = 1.0) -> plt.Figure:
    """Per-class mean spectrum with a ±1 sd band, stacked vertically by ``offset``.

    Image inputs have no spectra; the figure then says so, so the stage's outputs are the
    same for both modalities.
    """
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(classes) + 1.5))
    if spectra is None or axis is None:
        ax.text(0.5, 0.5, "image input: no spectra", ha="center", va="center")
        ax.axis("off")
        return fig
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
    fig.tight_layout()
    return fig


def image_grid(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], *,
               per_class: int, seed: int) -> plt.Figure:
    """Rows = classes, columns = up to ``per_class`` randomly chosen images of that class."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(classes), per_class, squeeze=False,
                             figsize=(1.1 * per_class + 1.2, 1.1 * len(classes)))
    for k, name in enumerate(classes):
        idx = np.flatnonzero(labels == k)
        chosen = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for j, ax in enumerate(axes[k]):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(chosen):
                img = images[chosen[j]]
                ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0),
                          cmap="gray", vmin=0, vmax=255)
            else:
                ax.axis("off")
        axes[k][0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout()
    return fig


def ink_fraction_box(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...],
                     threshold: int = 128) -> plt.Figure:
    """Distribution per class of the share of inked (dark) pixels per image.

    A swarm rather than a jittered strip plot: no random jitter, so reruns give identical files.
    """
    ink = (images.reshape(len(images), -1) < threshold).mean(axis=1)
    frame = pd.DataFrame({"class": np.asarray(classes)[labels], "ink fraction": ink})
    fig, ax = plt.subplots(figsize=(max(6, 0.7 * len(classes)), 3.2))
    sns.boxplot(frame, x="class", y="ink fraction", ax=ax, color="0.85", order=list(classes))
    sns.swarmplot(frame, x="class", y="ink fraction", ax=ax, size=2.5, color="0.2",
                  order=list(classes))
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
    fig, axes = plt.subplots(len(rows), cols, squeeze=False,
                             figsize=(1.2 * cols + 2.2, 1.2 * len(rows)))
    for axes_row, (title, images) in zip(axes, rows.items(), strict=True):
        for j, ax in enumerate(axes_row):
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(images):
                img = images[j]
                ax.imshow(img[0] if img.shape[0] == 1 else img.transpose(1, 2, 0),
                          cmap="gray", vmin=0, vmax=255)
            else:
                ax.axis("off")
        axes_row[0].set_ylabel(title, rotation=0, ha="right", va="center", fontsize=8)
    fig.tight_layout()
    return fig
