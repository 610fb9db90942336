"""Loaders for spectra tables in the layouts that instruments and colleagues actually export.

Each file is read as a text table by :mod:`.text_table` (separator, decimal mark and encoding
guessed, line numbers kept); this module finds the layout in it: the axis, the labels, the
spectra. What cannot be used is left out and recorded in the :class:`LoadReport`; a file that
is unusable as a whole raises :class:`DataError` naming the file, the line or column, and the
fix. A wavenumber written twice (two rows or two header cells with the same value, ``418`` and
``418.0`` included) is always such an error, in every layout: the point cannot be placed, and
pandas-style renaming (``418.1``) would silently turn the repeat into a new point.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

from ..core.errors import DataError, LoadReport
from ..core.records import Spectrum
from .text_table import UNNAMED, as_number, read_table

FORMATS = ("wide_wavenumber", "wide_label", "folder")
SPECTRUM_SUFFIXES = frozenset({".csv", ".txt", ".tsv", ".dat", ".asc", ".prn", ".xy"})
MIN_KEPT_FRACTION = 0.9  # a spectrum missing more than 10 % of its points is not trusted

_AXIS_NAME = re.compile(
    r"(wn|wave\s*numbers?|(raman\s*)?shift|cm-1|cm\^-1|1/cm)(\s*[(\[].*[)\]])?", re.IGNORECASE
)
_LABEL_NAMES = frozenset({"label", "class", "polymer", "type", "material"})
_MANGLED = re.compile(r"\.\d+$")
_REPLICATE = re.compile(r"(\s*\(\d+\)|[\s_\-]+[vV]?\d+)$")
class DuplicateWavenumberError(DataError):
    """A wavenumber occurs twice in one spectrum or header: an error in every layout."""


def clean_label(name: str) -> str:
    """Turn a replicate's column or file name into its class label.

    Exports name replicates ``PS V3``, ``PS_v3``, ``PS-3``, ``PS 12`` or ``PS (2)``, and pandas
    renames a repeated header ``PS`` to ``PS.1``; all of these are the class ``PS``. Only one
    replicate suffix is removed (after undoing pandas' renaming), so ``PA 6 V2`` stays ``PA 6``.
    A suffix needs a separator, so names such as ``PA6`` or ``PET`` are left alone.
    """
    label = " ".join(name.split())
    label = _MANGLED.sub("", label)
    return _REPLICATE.sub("", label).strip()


def _regex_label(text: str, pattern: re.Pattern[str]) -> str | None:
    """The first capture group of ``pattern`` in ``text`` (or the whole match), if any."""
    match = pattern.search(text)
    if match is None:
        return None
    found = match.group(1) if pattern.groups else match.group(0)
    return " ".join((found or "").split()) or None


def _column_label(name: str, pattern: re.Pattern[str] | None) -> str | None:
    if name.startswith(UNNAMED):
        return None
    return _regex_label(name, pattern) if pattern else clean_label(name) or None


def _no_label_reason(pattern: re.Pattern[str] | None) -> str:
    if pattern is None:
        return "no label can be taken from its name"
    return f"label_regex {pattern.pattern!r} does not match its name"


def _header_cells(table: pd.DataFrame) -> dict[str, str]:
    """Each column's header cell as written in the file (its name if there is no header)."""
    header = table.attrs.get("header")
    cells = header if header is not None else list(table.columns)
    return dict(zip(table.columns, cells, strict=True))


def _column_numbers(table: pd.DataFrame) -> dict[str, int]:
    """Each column's 1-based position, as a spreadsheet counts it."""
    return {name: i + 1 for i, name in enumerate(table.columns)}


def _header_where(table: pd.DataFrame) -> str:
    line = table.attrs.get("header_line")
    return "header" if line is None else f"header, line {line}"


def _format_number(value: float) -> str:
    return format(value, ".10g")


def _columns_phrase(names: list[str], table: pd.DataFrame) -> str:
    """``columns 3 ('418') and 4 ('418.0')`` for columns of ``table``."""
    cells, numbers = _header_cells(table), _column_numbers(table)
    parts = [f"{numbers[n]} ({cells[n]!r})" for n in names]
    return "columns " + (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1
                         else parts[0])


def _refuse_repeated_header(table: pd.DataFrame, name: str, kind: str, path: Path) -> None:
    """DataError if the header cell of column ``name`` (the axis or label column) is written
    in more than one column: which of them is meant cannot be told."""
    cells = _header_cells(table)
    same = [other for other in table.columns if cells[other] == cells[name]]
    if len(same) > 1:
        raise DataError(
            f"the {kind} column header {cells[name]!r} appears {len(same)} times, in "
            f"{_columns_phrase(same, table)}", path=path, where=_header_where(table),
            fix=f"keep one {kind} column: delete the others or give them other names")


def _refuse_repeated_wavenumbers(values: np.ndarray, places: list[str], path: Path,
                                 where: str, fix: str) -> None:
    """DataError listing every wavenumber that occurs more than once (after parsing, so
    ``418`` and ``418.0`` are the same point), each with the places it occurs
    (``places[i]`` describes value ``i``)."""
    groups: dict[float, list[int]] = {}
    for i, value in enumerate(values.tolist()):
        groups.setdefault(value, []).append(i)
    repeats = [(value, at) for value, at in groups.items() if len(at) > 1]
    if not repeats:
        return
    listed = [f"{_format_number(value)} (at {' and '.join(places[i] for i in at)})"
              for value, at in repeats[:5]]
    more = f"; ... ({len(repeats)} in all)" if len(repeats) > 5 else ""
    problem = (f"duplicate wavenumber {listed[0]}" if len(repeats) == 1
               else f"{len(repeats)} duplicate wavenumbers: {'; '.join(listed)}{more}")
    raise DuplicateWavenumberError(problem, path=path, where=where, fix=fix)


def _checked_axis(values: np.ndarray, places: list[str], path: Path) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """The axis in increasing order plus the row order that produces it.

    A strictly decreasing axis is normal (FTIR exports often run high to low) and is reversed.
    Gaps, repeats or a change of direction mean the table is not what it seems, so they are
    errors naming the place (``places[i]`` describes value ``i``) where the problem starts.
    """
    if values.size < 2:
        raise DataError("the wavenumber axis has fewer than two points", path=path,
                        fix="export the full spectrum")
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError("the wavenumber axis has a missing or non-numeric value", path=path,
                        where=places[bad[0]], fix="fill in the wavenumber or delete that point")
    repeated = np.flatnonzero(pd.Series(values).duplicated().to_numpy())
    if repeated.size:
        _refuse_repeated_wavenumbers(
            values, places, path, where=places[repeated[0]],
            fix="keep one point per wavenumber (average the repeated rows or delete all but "
                "one), then load again")
    steps = np.sign(np.diff(values))
    breaks = np.flatnonzero(steps != steps[0])
    if breaks.size:
        i = breaks[0] + 1
        raise DataError(
            f"the wavenumber axis changes direction: {values[i]:g} follows {values[i - 1]:g}",
            path=path, where=places[i],
            fix="sort the points by wavenumber (ascending or descending) or remove stray rows")
    order = np.arange(values.size) if steps[0] > 0 else np.arange(values.size)[::-1]
    return values[order].astype(np.float64), order


def _is_monotonic(column: pd.Series) -> bool:
    steps = np.diff(column.to_numpy(dtype=float)) if is_numeric_dtype(column) else []
    return len(steps) > 0 and bool((steps > 0).all() or (steps < 0).all())  # NaN fails both


def _numbers(column: pd.Series) -> np.ndarray:
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)


def _add_spectrum(spectra: list[Spectrum], label: str | None, axis: np.ndarray, y: np.ndarray,
                  source: str, no_label: str, report: LoadReport) -> None:
    """Append the spectrum with missing points dropped, or record in ``report`` why not."""
    ok = np.isfinite(y)
    kept = ok.mean()
    if ok.sum() < 2:
        report.skip(source, "empty: no numbers (e.g. a column made by a trailing separator)")
    elif label is None:
        report.skip(source, no_label)
    elif kept < MIN_KEPT_FRACTION:
        report.skip(source, f"only {kept:.0%} of its points are numbers "
                            f"(at least {MIN_KEPT_FRACTION:.0%} needed)")
    else:
        if not ok.all():
            report.notes.append(f"{source}: dropped {int((~ok).sum())} missing points")
        spectra.append(Spectrum(label, axis[ok].copy(), y[ok].copy(), source))


def _axis_column(table: pd.DataFrame, path: Path, requested: str | None) -> str:
    if requested is not None:
        return _existing(table, requested, "wavenumber", path)
    for name in table.columns:
        if _AXIS_NAME.fullmatch(name.strip()):
            return name
    if _is_monotonic(table.iloc[:, 0]):
        return table.columns[0]
    raise DataError("no wavenumber column found", path=path,
                    fix="name it 'wavenumber' (or WN, Raman shift, cm-1), put it first, or pass "
                        "--wavenumber-column NAME (wavenumber_column=NAME in Python)")


def _note_repeated_spectrum_names(table: pd.DataFrame, axis_name: str, path: Path,
                                  report: LoadReport) -> None:
    """Spectrum columns sharing a header are read as separate spectra (exports often name
    replicates by class only: ``PS, PS, PS``), but never silently: the report names them."""
    cells = _header_cells(table)
    groups: dict[str, list[str]] = {}
    for name in table.columns.drop(axis_name):
        groups.setdefault(cells[name], []).append(name)
    for cell, names in groups.items():
        if len(names) > 1 and table.attrs["named_columns"]:
            renamed = ", ".join(repr(n) for n in names)
            report.notes.append(f"{path.name}: {_columns_phrase(names, table)} share the header "
                                f"{cell!r}; read as {len(names)} spectra ({renamed})")


def _load_wide_wavenumber(table: pd.DataFrame, path: Path, wavenumber_column: str | None,
                          pattern: re.Pattern[str] | None, report: LoadReport) -> list[Spectrum]:
    axis_name = _axis_column(table, path, wavenumber_column)
    _refuse_repeated_header(table, axis_name, "wavenumber", path)
    places = [f"line {n}, column {axis_name!r}" for n in table.index]
    axis, order = _checked_axis(_numbers(table[axis_name]), places, path)
    if order[0] != 0:
        report.notes.append(f"{path.name}: wavenumbers run high to low; reversed")
    _note_repeated_spectrum_names(table, axis_name, path, report)
    cells = _header_cells(table)
    spectra: list[Spectrum] = []
    for name in table.columns.drop(axis_name):
        source = f"{path.name}:{name}"
        if not is_numeric_dtype(table[name]):
            report.skip(source, "the column holds text, not numbers")
            continue
        y = table[name].to_numpy(dtype=np.float64)[order]
        label = _column_label(cells[name] if table.attrs["named_columns"] else path.stem,
                              pattern)
        _add_spectrum(spectra, label, axis, y, source, _no_label_reason(pattern), report)
    return spectra


def _label_column(table: pd.DataFrame, path: Path, requested: str | None) -> str:
    if requested is not None:
        return _existing(table, requested, "label", path)
    for name in table.columns:
        if name.strip().lower() in _LABEL_NAMES:
            return name
    text = [name for name in table.columns if not is_numeric_dtype(table[name])]
    if len(text) == 1:
        return text[0]
    found = f" (text columns: {_preview(text)})" if text else ""
    raise DataError(f"no label column found{found}", path=path,
                    fix="name it 'label' (or class, polymer, type, material) or pass "
                        "--label-column NAME (label_column=NAME in Python)")


def _load_wide_label(table: pd.DataFrame, path: Path, label_column: str | None,
                     pattern: re.Pattern[str] | None, report: LoadReport) -> list[Spectrum]:
    """Rows are spectra. Label-column values are class names already, so unlike column names
    they are only whitespace-normalised (``PA 6`` must not become ``PA``)."""
    label_name = _label_column(table, path, label_column)
    _refuse_repeated_header(table, label_name, "label", path)
    cells, numbers = _header_cells(table), _column_numbers(table)
    columns, wavenumbers = [], []
    for name in table.columns.drop(label_name):
        value = as_number(cells[name])  # as written: a repeated 418 is not the point 418.1
        if value is None:
            reason = "empty column" if table[name].isna().all() else "header is not a wavenumber"
            report.skip(f"{path.name}:{name}", reason)
            continue
        columns.append(name)
        wavenumbers.append(value)
    _refuse_repeated_wavenumbers(
        np.array(wavenumbers), [f"column {numbers[n]} {cells[n]!r}" for n in columns], path,
        where=_header_where(table),
        fix="give each wavenumber one column: average the repeated columns into one or delete "
            "all but one, then import again")
    places = [f"header of column {name!r}" for name in columns]
    axis, order = _checked_axis(np.array(wavenumbers), places, path)
    values = np.column_stack([_numbers(table[name]) for name in columns])[:, order]
    spectra: list[Spectrum] = []
    for row, (line, raw_label) in enumerate(table[label_name].items()):
        text = "" if pd.isna(raw_label) else str(raw_label)
        label = _regex_label(text, pattern) if pattern else " ".join(text.split()) or None
        no_label = "the label cell is empty" if not text.strip() else _no_label_reason(pattern)
        _add_spectrum(spectra, label, axis, values[row], f"{path.name}:line {line}", no_label,
                      report)
    return spectra


def _folder_label(relative: Path, pattern: re.Pattern[str] | None) -> str | None:
    """Class sub-folder name if there is one, else the file name without replicate suffix."""
    if pattern is not None:
        return _regex_label(relative.as_posix(), pattern)
    if len(relative.parts) > 1:
        return " ".join(relative.parent.name.split()) or None
    return clean_label(relative.stem) or None


def _two_columns(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(increasing axis, intensity) from the first two numeric columns of a file."""
    table = read_table(path)
    numeric = [n for n in table.columns if is_numeric_dtype(table[n]) and table[n].notna().any()]
    if len(numeric) < 2:
        raise DataError("expected two numeric columns (wavenumber, intensity)", path=path,
                        fix="save one spectrum per file as two columns of numbers")
    places = [f"line {n}" for n in table.index]
    axis, order = _checked_axis(table[numeric[0]].to_numpy(dtype=np.float64), places, path)
    return axis, table[numeric[1]].to_numpy(dtype=np.float64)[order]


def _load_folder(root: Path, pattern: re.Pattern[str] | None,
                 report: LoadReport) -> list[Spectrum]:
    """Every spectrum file below ``root``; an unreadable file is skipped, not fatal, but a
    spectrum whose wavenumbers repeat stops the load (its points cannot be placed)."""
    spectra: list[Spectrum] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in relative.parts):
            continue
        source = relative.as_posix()
        if path.suffix.lower() not in SPECTRUM_SUFFIXES:
            report.skip(source, f"not a spectrum file ({', '.join(sorted(SPECTRUM_SUFFIXES))})")
            continue
        try:
            axis, y = _two_columns(path)
        except DuplicateWavenumberError:
            raise
        except DataError as err:
            report.skip(source, str(err))
            continue
        _add_spectrum(spectra, _folder_label(relative, pattern), axis, y, source,
                      _no_label_reason(pattern), report)
    return spectra


def _guess_layout(table: pd.DataFrame, path: Path) -> str:
    """``wide_wavenumber`` or ``wide_label``, decided from the header."""
    names = list(table.columns)
    if any(_AXIS_NAME.fullmatch(name.strip()) for name in names):
        return "wide_wavenumber"
    if sum(as_number(name) is not None for name in names) >= max(2, len(names) // 2):
        return "wide_label"
    if _is_monotonic(table.iloc[:, 0]):
        return "wide_wavenumber"
    raise DataError("cannot tell which table layout this is", path=path,
                    fix="pass --format wide_wavenumber (a wavenumber column and one column per "
                        "spectrum) or --format wide_label (a label column and one column per "
                        "wavenumber); format=... in Python")


def _compile(label_regex: str | None) -> re.Pattern[str] | None:
    if label_regex is None:
        return None
    try:
        return re.compile(label_regex)
    except re.error as err:
        raise DataError(f"label_regex {label_regex!r} is not a valid regular expression ({err})",
                        fix="correct it; its first capture group becomes the label") from None


def _existing(table: pd.DataFrame, name: str, kind: str, path: Path) -> str:
    if name not in table.columns:
        raise DataError(f"{kind} column {name!r} not found", path=path,
                        fix=f"use one of: {_preview(table.columns)}")
    return name


def _preview(names, limit: int = 8) -> str:
    names = [repr(str(n)) for n in names]
    return ", ".join(names[:limit]) + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def load_spectra(path: str | Path, *, format: str = "auto", label_column: str | None = None,
                 wavenumber_column: str | None = None,
                 label_regex: str | None = None) -> tuple[list[Spectrum], LoadReport]:
    """Load every usable spectrum from a table or folder, and a report of what was left out.

    ``format`` is one of :data:`FORMATS` or ``"auto"`` (a directory is a folder; for a file the
    header decides). ``label_column`` applies to ``wide_label``, ``wavenumber_column`` to
    ``wide_wavenumber``; both are auto-detected when None. ``label_regex`` replaces the default
    label clean-up: its first capture group (or whole match) is the label, searched in the
    column name, the label cell, or - for folders - the path relative to the folder.
    Every returned axis is strictly increasing float64.
    """
    if format not in (*FORMATS, "auto"):
        raise DataError(f"unknown spectra format {format!r}",
                        fix=f"use one of: auto, {', '.join(FORMATS)}")
    path = Path(path)
    if not path.exists():
        raise DataError("no such file or folder", path=path,
                        fix=f"check the spelling; relative paths start at {Path.cwd()}")
    pattern = _compile(label_regex)
    if format == "auto" and path.is_dir():
        format = "folder"
    if path.is_dir() != (format == "folder"):
        kind = "a folder" if format == "folder" else "a file"
        raise DataError(f"format {format!r} needs {kind}", path=path,
                        fix="pass --format folder for a directory of spectrum files, or "
                            "--format wide_wavenumber / wide_label for a single table")
    report = LoadReport()
    if format == "folder":
        spectra = _load_folder(path, pattern, report)
    else:
        spectra = _load_table(path, format, label_column, wavenumber_column, pattern, report)
    if not spectra:
        reasons = "; ".join(f"{s.source}: {s.reason}" for s in report.skipped[:3])
        empty = ("put two-column spectrum files (.csv, .txt, ...) in the folder, optionally in "
                 "one sub-folder per class")
        raise DataError("no usable spectra found", path=path,
                        fix=f"see why each was left out: {reasons}" if reasons else empty)
    report.loaded = len(spectra)
    return spectra, report


def _load_table(path: Path, format: str, label_column: str | None,
                wavenumber_column: str | None, pattern: re.Pattern[str] | None,
                report: LoadReport) -> list[Spectrum]:
    table = read_table(path)
    if not any(is_numeric_dtype(table[n]) and table[n].notna().any() for n in table.columns):
        raise DataError("no numeric data found", path=path,
                        fix="check that the file holds numbers such as 1234.5 or 1234,5")
    if format == "auto":  # an option that fits only one layout settles it
        format = ("wide_wavenumber" if wavenumber_column is not None
                  else "wide_label" if label_column is not None else _guess_layout(table, path))
    if format == "wide_label":
        return _load_wide_label(table, path, label_column, pattern, report)
    return _load_wide_wavenumber(table, path, wavenumber_column, pattern, report)
