"""Markdown cells and design wording shared by the results renderers (:mod:`.results_md`)."""

from __future__ import annotations

import json
from pathlib import Path


def load(metrics_dir: Path, name: str) -> dict | None:
    path = metrics_dir / name
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def fmt(value: float | None, digits: int = 3, sign: bool = False) -> str:
    if value is None:
        return "n/a"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def ordered(rows: dict, order: list[str] | None) -> list[tuple[str, dict]]:
    """Rows in the order the stage wrote them (JSON files sort their keys, so stages record it
    separately); files without a recorded order fall back to sorted names."""
    order = [n for n in order or [] if n in rows]
    names = order + sorted(n for n in rows if n not in order)
    return [(name, rows[name]) for name in names]


def pm(row: dict, key: str, sign: bool = False) -> str:
    mean, sd = row.get(f"{key}_mean"), row.get(f"{key}_sd")
    if mean is None:
        return "—"
    return fmt(mean, sign=sign) + ("" if sd is None else f" ± {fmt(sd)}")


def is_replicates(result: dict) -> bool:
    return result.get("design") == "replicates"


def design(result: dict) -> str:
    if is_replicates(result):
        return (f"{result['folds']} independent simulated replicates, each scored on its own "
                "fresh test set")
    return (f"{result['folds']}-fold outer cross-validation x {result['repeats']} repeat(s)"
            if result["folds"] > 1 else "one train/val/test split")


def short_design(result: dict) -> str:
    if "folds" not in result:
        return "one split"
    if is_replicates(result):
        return f"{result['folds']} replicates"
    return f"{result['folds']}-fold x {result['repeats']}"


def verdict_line(name: str, row: dict) -> str:
    """One table line: macro-F1, difference, probabilities, verdict (dashes for a baseline)."""
    if row.get("diff_mean") is None:
        return f"| {name} | {pm(row, 'macro_f1')} |" + " — |" * 5
    return (f"| {name} | {pm(row, 'macro_f1')} | {pm(row, 'diff', sign=True)} | "
            f"{fmt(row.get('p_better'), 2)} | {fmt(row.get('p_equivalent'), 2)} | "
            f"{fmt(row.get('p_worse'), 2)} | {row.get('verdict') or '—'} |")


