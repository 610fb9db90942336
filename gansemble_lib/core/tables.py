"""Tables as CSV (for machines) and Markdown (for the README and reports), written atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .io_utils import write_text


def _cell(value: object, digits: int) -> str:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def to_markdown(frame: pd.DataFrame, *, digits: int = 3, index: bool = True) -> str:
    """A GitHub-flavoured Markdown table; floats rounded to ``digits`` places."""
    frame = frame.reset_index() if index else frame
    header = [str(c) for c in frame.columns]
    rows = [[_cell(v, digits) for v in row] for row in frame.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    rule = ["---:" if is_num else "---" for is_num in numeric]
    lines = [header, rule, *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines) + "\n"


def save_table(frame: pd.DataFrame, directory: str | Path, name: str, *, digits: int = 3
               ) -> tuple[Path, Path]:
    """Write ``name.csv`` and ``name.md`` into ``directory``."""
    directory = Path(directory)
    csv_path, md_path = directory / f"{name}.csv", directory / f"{name}.md"
    write_text(csv_path, frame.to_csv(lineterminator="\n"))
    write_text(md_path, to_markdown(frame, digits=digits))
    return csv_path, md_path


def frame_record(frame: pd.DataFrame, columns: list[str] | None = None) -> dict:
    """{"index": {column: value}} (a tuple index joined with "/"), JSON-ready."""
    columns = list(frame.columns) if columns is None else columns
    return json_ready({"/".join(map(str, key)) if isinstance(key, tuple) else str(key):
                       {c: row[c] for c in columns} for key, row in frame.iterrows()})


def json_ready(value: object) -> object:
    """NaN -> None recursively, numpy scalars -> Python: JSON has no NaN."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
