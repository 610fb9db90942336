"""Reading a delimited text table as instruments and colleagues export it: separator, decimal
mark and encoding guessed (European Excel writes ``;`` and ``1,23``, old software latin-1,
Windows tools a BOM), every row checked against the header's width, and each row's line
number kept so that an error can point at a line a person can find in an editor."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from ..core.errors import DataError

_WHITESPACE = " "  # separator marker: any run of spaces/tabs


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


_COMMA_NUMBER = re.compile(r"[+-]?\d+,\d+([eE][+-]?\d+)?")


UNNAMED = "Unnamed: "


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a delimited text table, guessing separator, decimal mark and encoding.

    Columns that are mostly numbers become float64 (blank or unparseable cells are NaN);
    mostly-text columns stay stripped strings. A first line made only of numbers is data, not
    a header: the columns are then called ``column 1``, ``column 2``, ... and
    ``attrs["named_columns"]`` is False (so a loader takes labels from the file name). Empty
    header cells become ``Unnamed: <i>`` and repeated names get pandas' ``.1`` suffix (never a
    name already taken), so every column has a unique name; ``attrs["header"]`` keeps each
    column's header cell as written (None without a header) and ``attrs["header_line"]`` its
    line, so loaders judge repeats from the file, not from the renamed columns. The index is
    the 1-based line number of each row in the file, so later checks can point at a line a
    person can find in an editor. Blank lines and lines starting with ``#`` are ignored.
    """
    path = Path(path)
    lines = _text_lines(path)
    sample = [text for _, text in lines[:50]]
    sep = _sniff_separator(sample)
    decimal = _sniff_decimal(sample, sep)
    rows = [(number, _split(text, sep)) for number, text in lines]
    header, names, body = _header(rows, sep)
    named = header is not None
    if not body:
        raise DataError("the file has a header but no data rows", path=path,
                        fix="add one row of numbers per point (or spectrum)")
    body = _check_field_counts(path, len(names), body)
    index = pd.Index([number for number, _ in body], name="line")
    columns = zip(*(fields for _, fields in body), strict=True)
    typed = (_typed_column(values, decimal, index) for values in columns)
    table = pd.DataFrame(dict(zip(names, typed, strict=True)), index=index)
    table.attrs["named_columns"] = named
    table.attrs["header"] = header
    table.attrs["header_line"] = lines[0][0] if named else None
    return table


def _text_lines(path: Path) -> list[tuple[int, str]]:
    """The file's non-blank, non-comment lines with their 1-based numbers."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read the file ({err.strerror})", path=path,
                        fix="check that the path is a readable file") from None
    if b"\x00" in raw:
        raise DataError("the file is binary (or UTF-16), not a text table", path=path,
                        fix="export the spectra as a UTF-8 or latin-1 CSV/TXT file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # never fails: the usual encoding of old instrument PCs
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise DataError("the file is empty", path=path,
                        fix="point to the exported spectra file, or re-export it")
    return lines


def _sniff_separator(sample: list[str]) -> str:
    """``;`` or tab if the first line has one, else ``,`` unless every line looks like
    ``400,5  0,123`` (whitespace-separated numbers with decimal commas)."""
    head = sample[0]
    for sep in (";", "\t"):
        if sep in head:
            return sep
    decimal_commas = all(
        len(line.split()) >= 2 and all(_COMMA_NUMBER.fullmatch(t) for t in line.split())
        for line in sample)
    return "," if "," in head and not decimal_commas else _WHITESPACE


def _sniff_decimal(sample: list[str], sep: str) -> str:
    if sep == ",":
        return "."
    tokens = (t.strip() for line in sample for t in _split(line, sep))
    return "," if any(_COMMA_NUMBER.fullmatch(t) for t in tokens) else "."


def _split(text: str, sep: str) -> list[str]:
    if sep == _WHITESPACE:
        return text.split()
    return [field.strip() for field in next(csv.reader([text], delimiter=sep))]


def as_number(text: str) -> float | None:
    """The number written in ``text`` with either decimal mark, or None."""
    text = text.strip()
    if _COMMA_NUMBER.fullmatch(text):
        text = text.replace(",", ".")
    return float(text) if _NUMBER.fullmatch(text) else None


def _header(rows: list[tuple[int, list[str]]], sep: str) -> tuple[list[str] | None, list[str],
                                                                  list]:
    """The header cells as written (None if there is no header), unique column names and the
    data rows; a first row of numbers only is data, not a header."""
    first = rows[0][1]
    if all(as_number(field) is not None for field in first):
        return None, _generic_names(len(first)), rows
    body = rows[1:]
    if sep == _WHITESPACE and body and len(body[0][1]) != len(first):
        # A header such as "Raman shift  Intensity" splits into more words than columns.
        return None, _generic_names(len(body[0][1])), body
    return list(first), _unique_names(first), body


def _generic_names(count: int) -> list[str]:
    return [f"column {i + 1}" for i in range(count)]


def _unique_names(fields: list[str]) -> list[str]:
    """Empty names become ``Unnamed: <i>``; repeats get ``.1``, ``.2`` as pandas does, skipping
    any name the header already uses (``PS, PS, PS.1`` gives ``PS, PS.1, PS.1.1``), so no column
    can overwrite another."""
    taken: set[str] = set()
    names = []
    for i, field in enumerate(fields):
        base = field or f"{UNNAMED}{i}"
        name, k = base, 0
        while name in taken:
            k += 1
            name = f"{base}.{k}"
        taken.add(name)
        names.append(name)
    return names


def _check_field_counts(path: Path, width: int, body: list) -> list:
    """Rows cut to the header width; fewer fields or extra values name the first bad line.
    Extra *empty* trailing fields (a separator ending data rows only) are harmless."""
    checked = []
    for number, fields in body:
        extra = fields[width:]
        if len(fields) < width or any(extra):
            raise DataError(
                f"row has {len(fields)} fields but the header has {width}", path=path,
                where=f"line {number}",
                fix="give every row one value per header column (leave a missing value empty "
                    "between two separators) or delete the broken row")
        checked.append((number, fields[:width]))
    return checked


def _typed_column(values: tuple[str, ...], decimal: str, index: pd.Index) -> pd.Series:
    """Numbers if at least half of the filled cells are numbers, else stripped text."""
    text = pd.Series(values, index=index, dtype=object)
    numeric = text.str.replace(",", ".", regex=False) if decimal == "," else text
    numbers = pd.to_numeric(numeric, errors="coerce")
    filled = int((text != "").sum())
    return numbers.astype("float64") if 2 * int(numbers.notna().sum()) >= filled else text


