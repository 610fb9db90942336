"""What the filters did: kept and rejected counts per class and reason, the stage's metrics
record and summary line, and the kept/rejected examples its figures show."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.constants import CLASS_INDEX, LABEL
from .symp_filter import KEPT, KEPT_REASON, REASON, REASONS, SURPLUS, Pool

TOTAL_INDEX = -1  # class_index of the per-(source, filter) total rows of the summary table


def summarise(table: pd.DataFrame, classes: tuple[str, ...]) -> pd.DataFrame:
    """Per class: pooled, kept, and how many images each reason accounts for."""
    counts = pd.crosstab(table[CLASS_INDEX], table[REASON]).reindex(
        index=range(len(classes)), columns=list(REASONS), fill_value=0)
    counts.insert(0, "pooled", counts.sum(axis=1))
    counts.insert(0, LABEL, list(classes))
    counts.index.name = CLASS_INDEX
    return counts.reset_index()


def summary_table(summaries: dict[tuple[str, str], pd.DataFrame]) -> pd.DataFrame:
    """All per-class summaries in one table, with a total row ("all") per source and filter."""
    parts = []
    for (source, filter_name), summary in summaries.items():
        total = summary.drop(columns=[CLASS_INDEX, LABEL]).sum().to_frame().T
        total[LABEL] = "all"
        total[CLASS_INDEX] = TOTAL_INDEX
        parts.append(pd.concat([summary, total], ignore_index=True)
                     .assign(source=source, filter=filter_name))
    table = pd.concat(parts, ignore_index=True)
    return table.set_index(["source", "filter", CLASS_INDEX])


def counts_record(totals: pd.DataFrame) -> dict:
    """Kept and rejected-by-reason counts per "source/filter", for the stage's metrics JSON.

    ``totals`` is the summary table's total rows, indexed by (source, filter).
    """
    rejected = [r for r in REASONS if r != KEPT_REASON]
    return {"kept": {f"{s}/{f}": int(row[KEPT_REASON]) for (s, f), row in totals.iterrows()},
            "rejected": {f"{s}/{f}": {r: int(row[r]) for r in rejected}
                         for (s, f), row in totals.iterrows()}}


def stage_summary(record: dict) -> str:
    """One line for the terminal: images kept per filter over all sources."""
    kept: dict[str, int] = {}
    for key, n in record["kept"].items():
        name = key.rpartition("/")[2]
        kept[name] = kept.get(name, 0) + n
    sources = sorted({key.rpartition("/")[0] for key in record["kept"]})
    return (f"{len(sources)} sources filtered; kept in all: "
            + ", ".join(f"{name} {n}" for name, n in kept.items()))


def kept_rejected_rows(pool: Pool, table: pd.DataFrame, classes: tuple[str, ...], *,
                       per_row: int, max_classes: int = 4) -> dict[str, np.ndarray]:
    """Rows for ``figures.example_rows``: kept, then rejected (not surplus) images per class.

    Surplus images passed the filter and only missed the quota, so showing them as
    "rejected" would mislead; a class with nothing rejected gets an empty row.
    """
    rows = {}
    for k in range(min(len(classes), max_classes)):
        of_class = table[CLASS_INDEX].to_numpy() == k
        kept = table[KEPT].to_numpy() & of_class
        rejected = ~table[KEPT].to_numpy() & (table[REASON].to_numpy() != SURPLUS) & of_class
        rows[f"{classes[k]} kept"] = pool.images[np.flatnonzero(kept)[:per_row]]
        rows[f"{classes[k]} rejected"] = pool.images[np.flatnonzero(rejected)[:per_row]]
    return rows


