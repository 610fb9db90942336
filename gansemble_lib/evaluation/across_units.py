"""What the per-unit stages recorded, gathered across the units for stage 06b's tables: the
chooser's pick, each generator's checks and gate, what each filter kept, the fidelity metrics
with their real-vs-real null, and the first unit's figures for the report. (The verdicts
themselves are :mod:`.crossval`.)"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from .rows import FOLD


def _fold_json(folds_dir: str | Path, fold: str, name: str) -> dict | None:
    path = Path(folds_dir) / fold / "reports" / "metrics" / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


CHOOSER_SCORES = "02_chooser_scores.csv"  # in each unit's reports/tables: every candidate


def runner_up_margin(folds_dir: str | Path, fold: str, chosen: dict) -> float | None:
    """How far the best other candidate's mean selection metric is below the pick's (0 for a
    tie the rule broke), from the unit's table of every candidate; None without it.

    A pick whose runner-up is within rerun noise may change on another numerical path:
    ``gansemble verify`` reads this to call such a change borderline."""
    path = Path(folds_dir) / fold / "reports" / "tables" / CHOOSER_SCORES
    column = f"{chosen.get('select_metric', 'macro_f1')}_mean"
    if not path.is_file() or not chosen.get("name"):
        return None
    scores = pd.read_csv(path)
    if column not in scores or "name" not in scores or "n" not in scores:
        return None
    picked = (scores["name"] == chosen["name"]) & (scores["n"] == chosen.get("n"))
    others = scores.loc[~picked, column].dropna()
    if not picked.any() or others.empty:
        return None
    return float(scores.loc[picked, column].iloc[0] - others.max())


def chooser_choices(folds_dir: str | Path, folds: list[str]) -> pd.DataFrame:
    """Stage 02's pick in every fold (strategy, N, its validation macro-F1, ties, and the
    margin to the runner-up)."""
    rows = []
    for fold in folds:
        chosen = _fold_json(folds_dir, fold, "02_chosen.json") or {}
        rows.append({FOLD: fold, "strategy": chosen.get("name"), "n": chosen.get("n"),
                     "val_macro_f1": chosen.get("scores", {}).get("macro_f1_mean"),
                     "tied_candidates": chosen.get("overlapping_candidates"),
                     "runner_up_margin": runner_up_margin(folds_dir, fold, chosen),
                     "candidates": chosen.get("candidates")})
    return pd.DataFrame(rows).set_index(FOLD)


GENERATOR_COLUMNS = {"class_mean_match": ("spectral_check", "class_mean_match"),
                     "class_mean_match_val": ("spectral_check", "class_mean_match_val"),
                     "share_nn_same_class": ("nearest_neighbour", "share_nn_same_class"),
                     "within_class_spread_ratio": ("nearest_neighbour",
                                                   "within_class_spread_ratio"),
                     "train_seconds": ("train_seconds",)}


def generator_checks(folds_dir: str | Path, folds: list[str], variants: list[str]
                     ) -> pd.DataFrame:
    """Stage 03's checks of every generator variant: mean and sd across folds."""
    records = []
    for fold in folds:
        for variant in variants:
            record = _fold_json(folds_dir, fold, f"03_{variant}.json") or {}
            line = {FOLD: fold, "generator": variant}
            for column, keys in GENERATOR_COLUMNS.items():
                value = record
                for key in keys:
                    value = value.get(key) if isinstance(value, dict) else None
                line[column] = value
            records.append(line)
    frame = pd.DataFrame(records)
    numeric = [c for c in GENERATOR_COLUMNS if frame[c].notna().any()]
    table = frame.groupby("generator", sort=False)[numeric].agg(["mean", "std"])
    table.columns = [f"{m}_{'sd' if s == 'std' else s}" for m, s in table.columns]
    return table


def _gate_record(folds_dir: str | Path, fold: str, generator: str) -> dict | None:
    name = "03b_vae.json" if generator == "vae" else f"03_{generator}.json"
    return (_fold_json(folds_dir, fold, name) or {}).get("gate")


def gate_table(folds_dir: str | Path, folds: list[str], generators: list[str]) -> pd.DataFrame:
    """The gate of every generator across folds: validity, its label-shuffled null, real data's
    level, diversity (mean and sd), how many folds it passed, and one status.

    The status is ``passed`` only when the generator passed in every fold; otherwise the
    failure seen most often, with the count of failing folds.
    """
    from . import gate

    lines = []
    for generator in generators:
        records = [r for r in (_gate_record(folds_dir, f, generator) for f in folds) if r]
        if not records:
            continue
        frame = pd.DataFrame(records)
        failed = frame[frame[gate.STATUS] != gate.PASSED]
        status = gate.PASSED if failed.empty else (
            f"{failed[gate.STATUS].mode().iloc[0]} ({len(failed)} of {len(frame)} units)")
        if failed.empty and len(frame) < len(folds):  # passed where gated, but not everywhere
            status = f"{gate.NOT_GATED} in {len(folds) - len(frame)} of {len(folds)} folds"
        line = {"generator": generator}
        for column in (gate.VALIDITY, gate.NULL, gate.REFERENCE, gate.DIVERSITY):
            values = pd.to_numeric(frame[column], errors="coerce")
            line[f"{column}_mean"] = values.mean()
            line[f"{column}_sd"] = values.std() if len(frame) > 1 else np.nan
        line.update(folds_passed=int(len(frame) - len(failed)), folds_gated=int(len(frame)),
                    status=status, judge=frame[gate.JUDGE].iloc[0])
        lines.append(line)
    if not lines:
        return pd.DataFrame(columns=["status"]).rename_axis("generator")
    return pd.DataFrame(lines).set_index("generator")


def failed_generators(gates: pd.DataFrame, generators: list[str] | None = None
                      ) -> dict[str, str]:
    """{generator: status} for every generator that did not pass the gate in every fold; a
    generator of ``generators`` with no gate record at all is "not gated", never "passed"."""
    from . import gate

    out = {} if gates.empty else {g: s for g, s in gates["status"].items() if s != gate.PASSED}
    for name in generators or []:
        if gates.empty or name not in gates.index:
            out.setdefault(name, gate.NOT_GATED)
    return out


def filter_kept(folds_dir: str | Path, folds: list[str]) -> pd.DataFrame:
    """Images each filter kept per source, per fold (stage 04)."""
    kept = {fold: (_fold_json(folds_dir, fold, "04_filter.json") or {}).get("kept", {})
            for fold in folds}
    return pd.DataFrame(kept).rename_axis("source/filter")


def fidelity_across_folds(folds_dir: str | Path, folds: list[str],
                          metrics: tuple[str, ...]) -> pd.DataFrame:
    """Stage 05's overall metrics and their real-vs-real null: mean and sd across folds."""
    records = []
    for fold in folds:
        overall = (_fold_json(folds_dir, fold, "05_fidelity.json") or {}).get("overall", {})
        for key, values in overall.items():
            line = {FOLD: fold, "set": key, "n_generated": values.get("n_generated"),
                    "null_n": values.get("null_n")}
            for metric in metrics:
                line[metric] = values.get(metric)
                line[f"{metric}_null"] = values.get(f"{metric}_null_mean")
            line["note"] = values.get("note")
            records.append(line)
    frame = pd.DataFrame(records)
    numeric = [c for c in frame.columns if c not in (FOLD, "set", "note")]
    frame[numeric] = frame[numeric].apply(pd.to_numeric, errors="coerce")
    table = frame.groupby("set", sort=False)[numeric].agg(["mean", "std"])
    table.columns = [f"{m}_{'sd' if s == 'std' else s}" for m, s in table.columns]
    table = table.dropna(axis=1, how="all")
    notes = frame.groupby("set", sort=False)["note"].first()
    return table.join(notes)


# The first unit's per-stage figures, committed so that a fresh clone shows what each
# generator draws and what the chooser scored (every unit's figures stay under folds/).
UNIT_FIGURES = ("02_chooser_heatmap.png", "03_*_samples.png", "03b_samples.png",
                "04_filter/*.png")


def copy_unit_figures(folds_dir: str | Path, unit: str, dest: str | Path) -> list[str]:
    """Copy ``UNIT_FIGURES`` of ``unit`` into ``dest`` (emptied first); their names there."""

    source, dest = Path(folds_dir) / unit / "reports" / "figures", Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    copied = []
    for pattern in UNIT_FIGURES:
        for path in sorted(source.glob(pattern)):
            name = path.relative_to(source).as_posix().replace("/", "__")
            shutil.copyfile(path, dest / name)
            copied.append(name)
    lines = [f"# Figures of unit {unit}", "",
             f"Copied from `{source.as_posix()}` by stage 06b (every unit writes its own under "
             "`folds/`): the chooser's scores (02), each generator's samples, one row per "
             "class (03, 03b), and what each filter kept (04).", ""]
    lines += [f"- [{name}]({name})" for name in copied]
    (dest / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return copied
