"""Figures of the downstream checks (stage 06) and the report (stage 07)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from sklearn.metrics import confusion_matrix  # noqa: E402

from .downstream import ROW, SEED, Y_PRED, Y_TRUE  # noqa: E402


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


def recall_bars(recall: pd.DataFrame, *, minority: list[str]) -> plt.Figure:
    """Per-class recall of each row; minority classes are marked with an asterisk."""
    long = recall.rename(columns={c: f"{c} *" if c in minority else c for c in recall.columns})
    long = long.reset_index(names="row").melt(id_vars="row", var_name="class",
                                              value_name="recall")
    fig, ax = plt.subplots(figsize=(max(8, 0.8 * recall.shape[1]), 4.5))
    sns.barplot(long, x="class", y="recall", hue="row", ax=ax, palette="tab20")
    ax.legend(fontsize=6, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.18))
    ax.tick_params(axis="x", rotation=45)
    ax.set_xlabel("class (* = minority: below the median train count)")
    fig.tight_layout()
    return fig


def confusion_grid(predictions: pd.DataFrame, classes: tuple[str, ...], rows: list[str]
                   ) -> plt.Figure:
    """Row-normalised confusion matrices summed over seeds, one panel per row."""
    cols = min(3, len(rows))
    n_rows = int(np.ceil(len(rows) / cols))
    fig, axes = plt.subplots(n_rows, cols, squeeze=False,
                             figsize=(4.2 * cols, 3.8 * n_rows))
    labels = list(range(len(classes)))
    for ax, row in zip(axes.ravel(), rows, strict=False):
        part = predictions[predictions[ROW] == row]
        cm = confusion_matrix(part[Y_TRUE], part[Y_PRED], labels=labels).astype(float)
        cm /= np.maximum(cm.sum(1, keepdims=True), 1)
        sns.heatmap(cm, ax=ax, vmin=0, vmax=1, cmap="Blues", cbar=False, square=True,
                    xticklabels=classes, yticklabels=classes)
        ax.set_title(f"{row} ({part[SEED].nunique()} seeds)", fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in axes.ravel()[len(rows):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def fold_forest(scores: pd.DataFrame, verdicts: pd.DataFrame, *, baseline: str, rope: float
                ) -> plt.Figure:
    """Each row's per-fold macro-F1 difference from ``baseline`` (dots), their mean (diamond)
    and the region of practical equivalence (band). Train-on-synthetic rows, whose differences
    are often an order of magnitude larger, get a panel and scale of their own."""
    wide = scores.pivot(index="fold", columns="row", values="macro_f1")
    diffs = wide.sub(wide[baseline], axis=0).drop(columns=baseline)
    order = diffs.mean().sort_values().index.tolist()
    tstr = [r for r in order if r.startswith("TSTR")]
    main = [r for r in order if r not in tstr]
    panels = [(main, 1.0), *([(tstr, 0.25)] if tstr else [])]
    heights = [max(len(rows), 1) * 0.38 + 0.9 for rows, _ in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(7.5, sum(heights) + 0.6), squeeze=False,
                             gridspec_kw={"height_ratios": heights})
    colors = {"better": "tab:green", "worse": "tab:red", "practically equivalent": "tab:blue"}
    for ax, (rows, _) in zip(axes[:, 0], panels, strict=True):
        ax.axvspan(-rope, rope, color="0.9", zorder=0, label=f"ROPE +-{rope}")
        ax.axvline(0, color="k", linewidth=0.8)
        for k, row in enumerate(rows):
            verdict = verdicts.loc[row, "verdict"] if "verdict" in verdicts else "undecided"
            color = colors.get(verdict, "0.4")
            values = diffs[row].dropna()
            ax.plot(values, np.full(len(values), k), "o", color=color, alpha=0.45, ms=4)
            ax.plot(values.mean(), k, "D", color=color, ms=7)
        ax.set_yticks(np.arange(len(rows)), [f"{r}  [{verdicts.loc[r, 'verdict']}]"
                                             if "verdict" in verdicts else r for r in rows],
                      fontsize=7)
        ax.set_ylim(-0.7, len(rows) - 0.3)
    axes[0, 0].legend(fontsize=7, loc="lower right")
    axes[-1, 0].set_xlabel(f"macro-F1 minus '{baseline}' per outer fold (dots) and mean "
                           "(diamond); colour = verdict")
    if tstr:
        axes[1, 0].set_title("train on synthetic only (own scale)", fontsize=8)
    fig.tight_layout()
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
