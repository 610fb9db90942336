"""The simulated default dataset on disk: ``spectra.csv`` (a fixed-format wide CSV, the same
bytes on every machine) and ``dataset.yaml`` (the simulator's settings), written atomically into
``data/raw`` or any folder, replacing only a folder that holds nothing or a simulated dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from ..core.errors import DataError
from ..core.io_utils import atomic_dir
from .simulate import SimulationConfig, simulate

RAW_SPECTRA_FILE = "spectra.csv"  # the CSV it writes into data/raw (prepare writes spectra.npz)


META_FILE = "dataset.yaml"


def column_names(config: SimulationConfig) -> list[str]:
    """RaMPP-style ``<Class> V<n>`` names (n from 1 per class), in the order simulate() uses."""
    return [f"{c} V{i + 1}" for c, n in config.class_counts.items() for i in range(n)]


def _csv_bytes(axis: np.ndarray, x: np.ndarray, names: list[str]) -> bytes:
    """Fixed-format wide CSV; format specs other than ``n`` never consult the locale."""
    lines = [",".join(["wavenumber", *names])]
    for j, wn in enumerate(axis):
        lines.append(",".join([f"{wn:.3f}", *(f"{v:.5f}" for v in x[:, j].tolist())]))
    return ("\n".join(lines) + "\n").encode("ascii")


def _meta_bytes(cfg: SimulationConfig) -> bytes:
    meta = {
        "modality": "spectra", "format": "wide_wavenumber", "files": [RAW_SPECTRA_FILE],
        "origin": "simulated", "simulation": cfg.to_dict(),
    }  # fmt: skip
    text = yaml.safe_dump(meta, sort_keys=True, default_flow_style=False, allow_unicode=False)
    return text.encode("ascii")


def _is_ours(path: Path) -> bool:
    """Only an empty folder or a previous simulated dataset may be replaced without asking."""
    entries = {p.name for p in path.iterdir()}
    if not entries:
        return True
    if not entries <= {RAW_SPECTRA_FILE, META_FILE} or META_FILE not in entries:
        return False
    try:
        meta = yaml.safe_load((path / META_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(meta, dict) and meta.get("origin") == "simulated"


def write_dataset(
    out_dir: str | Path, config: SimulationConfig | None = None, *, overwrite: bool = False
) -> Path:
    """Write spectra.csv + dataset.yaml into ``out_dir`` atomically and return ``out_dir``.

    The files are built in a hidden sibling folder and swapped in by rename, so an interrupted
    run leaves either the old dataset or the new one, never half of one.
    """
    cfg = config or SimulationConfig()
    out = Path(out_dir)
    if out.exists() and not overwrite and not (out.is_dir() and _is_ours(out)):
        raise DataError(
            "exists and is not a simulated dataset written by this module",
            path=out,
            fix="choose another folder, or pass overwrite=True to replace it",
        )
    with atomic_dir(out) as tmp:
        axis, x, _ = simulate(cfg)
        (tmp / RAW_SPECTRA_FILE).write_bytes(_csv_bytes(axis, x, column_names(cfg)))
        (tmp / META_FILE).write_bytes(_meta_bytes(cfg))
    return out


