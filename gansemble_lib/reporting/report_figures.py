"""Figures of the downstream checks (stage 06) and the report (stage 07)."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from ..evaluation.rows import BETTER, EQUIVALENT, FOLD, ROW, SEED, UNDECIDED, WORSE, Y_PRED, Y_TRUE  # noqa: E402


def forest_plot(differences: pd.DataFrame, *, baseline: str) -> plt.Figure:
    """Each row's macro-F1 difference from ``baseline`` with its 95 % paired bootstrap interval."""
    table = differences.sort_values("diff_macro_f1")
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(table) + 1.4))
    y = np.arange(len(table))
    colors = np.where(table["excludes_zero"], np.where(table["diff_macro_f1"] > 0, "tab:green",
                                                       "tab:red"), "0.4")
    for k, (diff, low, high) in enumerate(table[["diff_macro_f1", "ci_low", "ci_high"]].values):
        ax.errorbar(diff, k, xerr=[[diff - low], [high - diff]], fmt="o", color=colors[k],
                    capsize=3)
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_yticks(y, table.index, fontsize=8)
    ax.set_xlabel(f"macro-F1 minus '{baseline}' (95 % paired bootstrap interval)")
    fig.tight_layout()
    return fig


def recall_heatmap(recall: pd.DataFrame, *, minority: list[str], failed_rows: dict[str, str],
                   title: str) -> plt.Figure:
    """Per-class recall of every row as one annotated heatmap (rows x classes).

    A heatmap instead of grouped bars: two dozen rows need no palette and no legend. Minority
    classes carry an asterisk; rows of a generator that failed the gate a cross.
    """
    table = recall.rename(columns={c: f"{c} *" if c in minority else c for c in recall.columns})
    table.index = [f"{r}  [x gate]" if r in failed_rows else r for r in table.index]
    fig, ax = plt.subplots(figsize=(1.0 + 0.62 * table.shape[1] + 3.5,
                                    0.32 * len(table) + 2.0))
    sns.heatmap(table.astype(float), ax=ax, vmin=0, vmax=1, cmap="viridis", annot=True,
                fmt=".2f", annot_kws={"fontsize": 6}, cbar_kws={"label": "recall"})
    ax.set(xlabel="true class (* = minority: below the median train count)", ylabel="row")
    ax.tick_params(axis="y", labelsize=7)
    ax.tick_params(axis="x", labelsize=7, rotation=45)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def confusion_grid(predictions: pd.DataFrame, classes: tuple[str, ...],
                   rows: dict[str, str], *, title: str, unit: str = "fold") -> plt.Figure:
    """Confusion matrices (counts, coloured by the share of each true class), one panel per
    row; ``rows`` maps a row to its panel title (what it is: real-only, the best baseline,
    the best generator that passed the gate); ``unit`` names what pooled predictions come from
    ("fold", "replicate")."""
    cols = min(3, len(rows))
    n_rows = int(np.ceil(len(rows) / cols))
    fig, axes = plt.subplots(n_rows, cols, squeeze=False,
                             figsize=(4.6 * cols + 0.8, 4.4 * n_rows + 0.6))
    labels = list(range(len(classes)))
    image = None
    for ax, (row, label) in zip(axes.ravel(), rows.items(), strict=False):
        part = predictions[predictions[ROW] == row]
        counts = confusion_matrix(part[Y_TRUE], part[Y_PRED], labels=labels)
        share = counts / np.maximum(counts.sum(1, keepdims=True), 1)
        image = ax.imshow(share, vmin=0, vmax=1, cmap="Blues")
        for i, j in np.ndindex(counts.shape):
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=5,
                        color="white" if share[i, j] > 0.6 else "black")
        ax.set_xticks(labels, classes, rotation=90, fontsize=6)
        ax.set_yticks(labels, classes, fontsize=6)
        ax.set(xlabel="predicted class", ylabel="true class")
        ax.set_title(f"{label}\n{row} ({_runs_pooled(part, unit)})", fontsize=8)
    for ax in axes.ravel()[len(rows):]:
        ax.axis("off")
    fig.subplots_adjust(wspace=0.45, right=0.88)  # room for each panel's axis title
    if image is not None:  # the colour bar beside the panels, not over them
        fig.colorbar(image, cax=fig.add_axes((0.91, 0.2, 0.012, 0.6), label="<colorbar>"),
                     label="share of the true class (numbers: counts)")
    fig.suptitle(title, fontsize=9)
    return fig


def _runs_pooled(predictions: pd.DataFrame, unit: str) -> str:
    """'5 replicates x 1 seed', '1 seed': the runs whose predictions a panel pools (each unit
    draws its own seeds, so the seeds are counted within a unit)."""
    if FOLD in predictions and predictions[FOLD].nunique() > 1:
        units = predictions[FOLD].nunique()
        seeds = int(predictions.groupby(FOLD)[SEED].nunique().max())
        return f"{units} {unit}s x {seeds} seed{'' if seeds == 1 else 's'}"
    seeds = predictions[SEED].nunique()
    return f"{seeds} seed{'' if seeds == 1 else 's'}"


@dataclass(frozen=True)
class ForestPanel:
    """One panel of :func:`fold_forest`: rows compared with their own baseline."""

    title: str
    baseline: str
    rows: list[str]
    verdicts: dict[str, str]  # row -> verdict ("" or missing: none)
    scale: str = "shared"  # "own": the panel gets its own x-axis (e.g. train on synthetic)


def fold_forest(scores: pd.DataFrame, panels: list[ForestPanel], *, rope: float,
                failed_rows: dict[str, str], unit: str = "unit") -> plt.Figure:
    """Per unit, each row's macro-F1 difference from its panel's baseline (dots), their mean
    (diamond, coloured by verdict) and the region of practical equivalence (band). Rows that
    use a generator that failed the gate are marked with a cross and "[x gate]"."""
    wide = scores.pivot(index="fold", columns="row", values="macro_f1")
    panels = [p for p in panels if p.rows and p.baseline in wide]
    heights = [len(p.rows) * 0.36 + 1.1 for p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8.5, sum(heights) + 0.8), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    colors = {BETTER: "tab:green", WORSE: "tab:red", EQUIVALENT: "tab:blue"}
    shared = [ax for ax, p in zip(axes[:, 0], panels, strict=True) if p.scale == "shared"]
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        diffs = wide[[r for r in panel.rows if r in wide]].sub(wide[panel.baseline], axis=0)
        rows = diffs.mean().sort_values().index.tolist()
        ax.axvspan(-rope, rope, color="0.9", zorder=0, label=f"ROPE ±{rope}")
        ax.axvline(0, color="k", linewidth=0.8)
        for k, row in enumerate(rows):
            verdict = panel.verdicts.get(row) or UNDECIDED
            color = colors.get(verdict, "0.4")
            values = diffs[row].dropna()
            ax.plot(values, np.full(len(values), k), "o", color=color, alpha=0.4, ms=4)
            ax.plot(values.mean(), k, "X" if row in failed_rows else "D", color=color, ms=8)
        labels = [f"{r}  [{panel.verdicts.get(r) or 'no verdict'}]"
                  + ("  [x gate]" if r in failed_rows else "") for r in rows]
        ax.set_yticks(np.arange(len(rows)), labels, fontsize=7)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_title(f"{panel.title} — against '{panel.baseline}'", fontsize=8, loc="left")
        ax.set_xlabel(f"macro-F1 minus '{panel.baseline}'", fontsize=7)
    if len(shared) > 1:
        low = min(ax.get_xlim()[0] for ax in shared)
        high = max(ax.get_xlim()[1] for ax in shared)
        for ax in shared:
            ax.set_xlim(low, high)
    handles = [plt.Line2D([], [], marker="D", ls="", color=c, label=v)
               for v, c in colors.items()]
    handles += [plt.Line2D([], [], marker="D", ls="", color="0.4", label="undecided / none"),
                plt.Line2D([], [], marker="X", ls="", color="0.4",
                           label="generator failed the gate"),
                plt.Line2D([], [], marker="o", ls="", color="0.4", alpha=0.4,
                           label=f"one {unit}")]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=7, frameon=False)
    fig.suptitle(f"Macro-F1 differences per {unit} (dots) and their mean (marker; colour = "
                 "verdict)", fontsize=9)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))
    return fig


def learning_curve(curve: pd.DataFrame, *, real_per_class: float, title: str) -> plt.Figure:
    """Macro-F1 (mean ± sd across folds) against real spectra per class in training: the
    fold's own (``real_per_class``, mean over classes and folds) plus k fresh simulated ones;
    one panel per test set (``curve["test"]``)."""
    tests = list(dict.fromkeys(curve["test"]))
    fig, axes = plt.subplots(1, len(tests), figsize=(5.6 * len(tests), 4.4), squeeze=False,
                             sharey=True)
    for ax, test in zip(axes[0], tests, strict=True):
        on_test = curve[curve["test"] == test]
        for (name, part), marker in zip(on_test.groupby("curve", sort=False), "osD",
                                        strict=False):
            part = part.sort_values("k")
            x = real_per_class + part["k"].to_numpy(float)
            ax.errorbar(x, part["macro_f1_mean"], yerr=part["macro_f1_sd"].fillna(0.0),
                        marker=marker, capsize=3, label=name)
        ax.set_xlabel("real spectra per class in training\n(the fold's own, mean, + k fresh "
                      "simulated)")
        ax.set_title(f"tested on: {test}", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel("macro-F1 (mean ± sd across folds)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def message_figure(text: str) -> plt.Figure:
    """A figure that says why there is nothing to draw (a declared output still exists)."""
    import textwrap

    fig, ax = plt.subplots(figsize=(6.4, 2.0))
    ax.axis("off")
    ax.text(0.5, 0.5, textwrap.fill(text, 80), ha="center", va="center", fontsize=9)
    return fig
