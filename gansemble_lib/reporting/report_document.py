"""Stage 07's report as a document: tables once with words for headers, numbered figures.

The notebook (``notebooks/07_report.py``) only says what goes where; this module turns the
stages' files into what a reader sees.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from IPython.display import Image, Markdown, display

VERDICT_COLUMNS = {"generator_gate": "generator gate", "macro_f1_mean": "macro-F1",
                   "diff_mean": "difference from real-only", "p_better": "P(better)",
                   "p_equivalent": "P(equivalent)", "p_worse": "P(worse)",
                   "verdict": "verdict", "smallest_decidable": "smallest decidable difference"}


class Document:
    """Displays tables and numbered, captioned figures in the order they are added."""

    def __init__(self, tables_dir: str | Path) -> None:
        self.tables = Path(tables_dir)
        self.figures = 0

    def table(self, name: str, folder: str | Path | None = None) -> None:
        """A stage's Markdown table, once, as the stage wrote it."""
        display(Markdown((Path(folder or self.tables) / f"{name}.md").read_text()))

    def figure(self, path: str | Path, caption: str, width: int = 720) -> None:
        """A figure with a numbered caption that says what to look for."""
        self.figures += 1
        display(Image(str(path), width=width))
        display(Markdown(f"**Figure {self.figures}.** {caption}"))


def readable_verdicts(verdicts: pd.DataFrame) -> str:
    """The verdict table's main columns in words (blank, not "nan", where a row has none)."""
    shown = verdicts[[c for c in VERDICT_COLUMNS if c in verdicts]].rename(
        columns=VERDICT_COLUMNS)
    shown = shown.astype(object).where(shown.notna(), "")
    return shown.rename_axis("row").to_markdown(floatfmt=".3f")


def readable_gates(gates: pd.DataFrame) -> str:
    """The gate table across units as mean ± sd, units passed and the status."""
    def spread(column: str) -> pd.Series:
        return (gates[f"{column}_mean"].map("{:.2f}".format) + " ± "
                + gates[f"{column}_sd"].map("{:.2f}".format))

    return pd.DataFrame({
        "validity": spread("validity"), "shuffled-label null": spread("validity_null"),
        "real validation data": spread("validity_real"), "diversity": spread("diversity"),
        "units passed": gates["folds_passed"].astype(str) + " of "
        + gates["folds_gated"].astype(str),
        "status": gates["status"]}).to_markdown()
