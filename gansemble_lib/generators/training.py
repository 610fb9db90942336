"""Shared training plumbing for the generators: seeding, checkpoints with resume, loss logs.

Resume is exact on CPU: a checkpoint holds the model and optimiser states *and* every random
number generator the loop draws from, so a run interrupted after a checkpoint and restarted
produces the same final weights as one that never stopped. A checkpoint is only resumed when
its fingerprint matches, and every fingerprint covers the training code (:func:`code_hash`)
as well as the data and settings: DVC keeps the checkpoints between runs (``persist``), so
after an edit to a network, a loss or a loop the old weights must be retrained, not reused.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import random
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

from ..core.io_utils import atomic_file, write_text


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and torch; return a dedicated CPU generator for data order/noise."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def code_hash(*modules: ModuleType | str) -> str:
    """Hex sha256 of the source files of ``modules``: module objects, or dotted names below
    ``gansemble_lib`` (``"generators.vae"``), which lets a module name modules that import it.

    The whole file counts, comments included: an edit that cannot change the result costs one
    retraining, but no edit to a listed module can leave stale weights in use.
    """
    digest = hashlib.sha256()
    for module in modules:
        if isinstance(module, str):
            module = importlib.import_module(f"gansemble_lib.{module}")
        source = Path(module.__file__).read_bytes()
        digest.update(f"{module.__name__} {len(source)}\n".encode())
        digest.update(source)
    return digest.hexdigest()


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "generator": generator.get_state(),
             "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(generator: torch.Generator, state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["generator"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, checkpoint: dict[str, Any]) -> None:
    """``torch.save`` through a temporary file: a crash mid-write keeps the previous one."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    with atomic_file(path, "wb") as handle:
        handle.write(buffer.getvalue())


def load_checkpoint(path: str | Path, *, device: str | torch.device = "cpu"
                    ) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or None when there is none yet (a fresh run)."""
    path = Path(path)
    if not path.is_file():
        return None
    return torch.load(path, map_location=device, weights_only=False)


class LossLog:
    """Per-step training curves kept in memory and written as CSV (a DVC plot) on demand.

    On resume the rows after the checkpoint's step are discarded, so the curve of an
    interrupted run is identical to that of an uninterrupted one.
    """

    def __init__(self, columns: list[str], rows: list[dict[str, float]] | None = None) -> None:
        self.columns = ["step", *columns]
        self.rows = list(rows or [])

    def add(self, step: int, **values: float) -> None:
        self.rows.append({"step": step, **{k: float(v) for k, v in values.items()}})

    def truncate(self, step: int) -> None:
        self.rows = [row for row in self.rows if row["step"] <= step]

    def write(self, path: str | Path) -> None:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=self.columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v)
                             for k, v in row.items()})
        write_text(path, buffer.getvalue())
