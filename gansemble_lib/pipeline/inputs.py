"""What a stage's notebook works with: its validated parameter section and its paths."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from ..core.errors import DataError
from ..core.params_io import from_mapping
from .stages import split_stage_name, stage_params, stage_paths


def notebook_inputs(stage: str, params: dict | None = None, paths: dict | None = None,
                    *, params_file: str | Path = "params.yaml"):
    """What a notebook works with: (its section's dataclass, a namespace of paths).

    ``gansemble notebook`` injects ``params`` and ``paths``; a notebook run by hand leaves them
    ``None`` and they are read here from ``params_file`` and the declaration. Either way the
    values are validated again, so an edited executed notebook cannot carry a bad value.
    """
    declared, _ = split_stage_name(stage)
    params = stage_params(stage, params_file) if params is None else dict(params)
    paths = stage_paths(stage) if paths is None else dict(paths)
    borrowed = {}
    for entry in declared.borrows:
        key = entry.split(".")[1]
        if key not in params:
            raise DataError(f"stage {stage} needs {entry}", path="notebook parameters",
                            fix="run it with `gansemble notebook` or leave params = None")
        borrowed[key] = from_mapping(entry.split(".")[0], {key: params.pop(key)})
    section = from_mapping(declared.section, params, source="notebook parameters") \
        if declared.section else None
    for key, holder in borrowed.items():
        paths[key] = getattr(holder, key)
    return section, SimpleNamespace(**paths)
