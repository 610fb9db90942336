"""Reading ``params.yaml`` into the dataclasses of :mod:`.config`, checking every key and value:
a typo or a value out of range fails with the key's name, the file and the allowed values."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .config import SECTIONS
from .errors import DataError
from .io_utils import read_yaml


def _type_ok(value: Any, annotation: Any) -> bool:
    if typing.get_origin(annotation) is tuple:  # tuple[int, ...]: a YAML list of one type
        (item, _) = typing.get_args(annotation)
        return isinstance(value, list | tuple) and len(value) > 0 and all(
            _type_ok(v, item) for v in value)
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) else (
        annotation,)
    for option in options:
        if option is type(None) and value is None:
            return True
        if option is bool and isinstance(value, bool):
            return True
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return True
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if option is str and isinstance(value, str):
            return True
    return False


def _split_list(text: str, item: type) -> Any:
    """``"20, 40"`` -> ``[20, 40]``: lists travel as strings so DVC can put them in a command."""
    try:
        return [item(part) for part in text.split(",") if part.strip()]
    except ValueError:
        return text  # left as is, so the type check reports it


def _check_value(section: str, field: dataclasses.Field, annotation: Any, value: Any,
                 source: str) -> Any:
    where = f"{section}.{field.name}"
    meta = field.metadata
    if typing.get_origin(annotation) is tuple and isinstance(value, str):
        value = _split_list(value, typing.get_args(annotation)[0])
    elif typing.get_origin(annotation) is tuple and isinstance(value, int | float):
        value = [value]  # a one-item list written as a bare number
    if not _type_ok(value, annotation):
        if typing.get_origin(annotation) is tuple:
            kind = f"a non-empty list of {typing.get_args(annotation)[0].__name__}"
        else:
            kind = " or ".join(getattr(t, "__name__", str(t)) for t in
                               (typing.get_args(annotation) or (annotation,)))
        raise DataError(f"{where} = {value!r} has the wrong type", path=source,
                        fix=f"give {kind} ({meta['help']})")
    if isinstance(value, int) and not isinstance(value, bool) and float in (
            typing.get_args(annotation) or (annotation,)):
        value = float(value)
    if isinstance(value, list):
        value = tuple(value)
    if meta["choices"] is not None and value not in meta["choices"]:
        allowed = ", ".join(repr(c) for c in meta["choices"])
        raise DataError(f"{where} = {value!r} is not allowed", path=source,
                        fix=f"use one of: {allowed}")
    for item in value if isinstance(value, tuple) else (value,):
        _check_bounds(where, meta, item, source)
    return value


def _check_bounds(where: str, meta: Mapping[str, Any], value: Any, source: str) -> None:
    if value is not None and not isinstance(value, str):
        bounds = {"ge": (lambda v, b: v >= b, ">="), "le": (lambda v, b: v <= b, "<="),
                  "gt": (lambda v, b: v > b, ">"), "lt": (lambda v, b: v < b, "<")}
        for key, (ok, symbol) in bounds.items():
            bound = meta[key]
            if bound is not None and not ok(value, bound):
                raise DataError(f"{where} = {value!r} is out of range", path=source,
                                fix=f"use a value {symbol} {bound}")


def from_mapping(section: str, values: Mapping[str, Any] | None, *, source: str = "params.yaml"):
    """Build the dataclass of ``section`` from a mapping, validating every key and value."""
    if section not in SECTIONS:
        raise DataError(f"unknown parameter section {section!r}", path=source,
                        fix=f"use one of: {', '.join(SECTIONS)}")
    cls = SECTIONS[section]
    values = dict(values or {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise DataError(f"unknown key {section}.{unknown[0]}", path=source,
                        fix=f"allowed keys in '{section}': {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    checked = {k: _check_value(section, fields[k], hints[k], v, source)
               for k, v in values.items()}
    return cls(**checked)


def borrowed_section(section: str, values: Any):
    """A whole section a stage borrows key by key (``Stage.borrows``), rebuilt from the
    attributes of ``values`` (a notebook's ``paths``): e.g. the gate's margins."""
    cls = SECTIONS[section]
    return cls(**{f.name: getattr(values, f.name) for f in dataclasses.fields(cls)})


def load_params(path: str | Path = "params.yaml", section: str | None = None):
    """Load ``params.yaml``; return one section's dataclass or a dict of all of them."""
    path = Path(path)
    if not path.is_file():
        raise DataError("parameter file not found", path=path,
                        fix="run from the project root, or write one with `gansemble profile "
                            "laptop`")
    raw = read_yaml(path) or {}
    if not isinstance(raw, dict):
        raise DataError("top level must be a mapping of sections", path=path,
                        fix=f"use sections: {', '.join(SECTIONS)}")
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise DataError(f"unknown section {unknown[0]!r}", path=path,
                        fix=f"allowed sections: {', '.join(SECTIONS)}")
    if section is not None:
        return from_mapping(section, raw.get(section), source=str(path))
    return {name: from_mapping(name, raw.get(name), source=str(path)) for name in SECTIONS}


def as_dict(params) -> dict[str, Any]:
    return dataclasses.asdict(params)


