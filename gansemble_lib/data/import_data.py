"""Replacing ``data/raw``: importing one's own data (validated where the user put it, then
copied unchanged and recorded with DVC) and regenerating the default simulated dataset."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from ..core.constants import DATASET_DESCRIPTOR, IMAGES, SPECTRA
from ..core.errors import DataError
from .raw_data import ALL_FORMATS, Descriptor, RawData, _exclude, _load_files, read_descriptor


def _detect(sources: list[Path], fmt: str) -> tuple[str, str]:
    """(modality, format) for an import, resolving ``auto``."""
    if fmt == IMAGES:
        return IMAGES, IMAGES
    if fmt != "auto":
        return SPECTRA, fmt
    if len(sources) == 1 and sources[0].is_dir():
        image_ext = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}
        if any(p.suffix.lower() in image_ext for p in sources[0].rglob("*")):
            return IMAGES, IMAGES
        return SPECTRA, "folder"
    return SPECTRA, "auto"


def import_data(sources: list[str | Path], *, fmt: str = "auto", raw_dir: str | Path = "data/raw",
                options: dict[str, Any] | None = None, record: bool = True,
                drop_small_classes: bool = False, folds: int = 1) -> RawData:
    """Validate ``sources``, copy them unchanged into ``raw_dir`` and record it with DVC.

    The sources are loaded in full first, where the user put them (so every error names the
    user's file), and nothing is replaced unless the new data load and every class has the
    samples the evaluation design with ``folds`` outer folds needs (evaluation.folds; the
    minimum is :func:`.splits.min_per_class`, the one prepare checks). With
    ``drop_small_classes`` exactly the classes below it are left out instead, with a note each
    (name, count, minimum): the files stay unchanged and ``dataset.yaml`` lists those classes
    under ``exclude_classes``, which :func:`load_raw` honours.
    """
    from ..core.io_utils import atomic_dir
    from .splits import check_class_sizes, dropped_class_note, small_classes

    if fmt not in ALL_FORMATS:
        raise DataError(f"unknown format {fmt!r}", fix=f"use one of: {', '.join(ALL_FORMATS)}")
    paths = [Path(s) for s in sources]
    for path in paths:
        if not path.exists():
            raise DataError("no such file or folder", path=path, fix="check the path")
    names = [p.name for p in paths]
    if len(set(names)) != len(names):
        raise DataError("two sources share a file name", path=paths[0],
                        fix="rename one of them; data/raw keeps the original names")
    options = {k: v for k, v in (options or {}).items() if v is not None}
    modality, resolved = _detect(paths, fmt)
    descriptor = {"modality": modality, "format": resolved, "files": names,
                  "origin": "imported", "options": options,
                  "imported_from": [str(p.resolve()) for p in paths]}
    data = _load_files(Descriptor(modality, resolved, tuple(names), options), paths)
    counts = Counter(data.labels)
    if not counts:
        raise DataError("no samples could be loaded", path=paths[0],
                        fix="check the --format and loader options")
    small = small_classes(counts, folds)
    if small and (not drop_small_classes or len(small) == len(counts)):
        check_class_sizes(counts, folds, importing=True, path=paths[0])  # raises
    if small:
        descriptor["exclude_classes"] = list(small)
        data = _exclude(data, tuple(small),
                        {name: dropped_class_note(name, n, folds) for name, n in small.items()})
    raw_dir = Path(raw_dir)
    with atomic_dir(raw_dir) as tmp:
        for path in paths:
            if path.is_dir():
                shutil.copytree(path, tmp / path.name)
            else:
                shutil.copy2(path, tmp / path.name)
        (tmp / DATASET_DESCRIPTOR).write_text(yaml.safe_dump(descriptor, sort_keys=True),
                                              encoding="utf-8")
        read_descriptor(tmp)  # what load_raw will read back must parse
    if record:
        dvc_record(raw_dir)
    return data


def dvc_record(raw_dir: str | Path = "data/raw", dvc_file: str | Path = "data.dvc") -> None:
    """Record the current ``data/raw`` in ``data.dvc`` (creating it if needed)."""
    dvc_file = Path(dvc_file)
    if not dvc_file.exists():
        rel = Path(raw_dir).as_posix()
        dvc_file.write_text(f"outs:\n- path: {rel}\n", encoding="utf-8")
    _dvc("commit", "--force", str(dvc_file))


def _dvc(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "dvc", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise DataError(f"`dvc {' '.join(args)}` failed: {result.stderr.strip()}",
                        fix="run it from the project root inside the project's environment")
    return result


def dvc_data_clean(dvc_file: str | Path = "data.dvc") -> bool:
    """True when the workspace matches the hash recorded in ``dvc_file``.

    "not in cache" counts as a match: DVC reports it when the files hash to the recorded value
    but were never copied into the local cache (as after regenerating the default data).
    """
    result = subprocess.run([sys.executable, "-m", "dvc", "status", "--json", str(dvc_file)],
                            capture_output=True, text=True)
    if result.returncode != 0:  # DVC itself failed: that is not "the data differ"
        raise DataError(f"`dvc status {dvc_file}` failed: "
                        f"{' '.join((result.stderr or result.stdout).split())[:400]}",
                        path=dvc_file, fix="run it from the project root inside the project's "
                                           "environment (`make data`), or fix what DVC says")
    status = json.loads(result.stdout or "{}")
    changes = [change for entries in status.values() for entry in entries
               for change in entry.get("changed outs", {"?": "other change"}).values()]
    return all(change == "not in cache" for change in changes)


def fetch_default_data(raw_dir: str | Path = "data/raw", dvc_file: str | Path = "data.dvc") -> str:
    """Make ``data/raw`` match ``data.dvc`` offline; return how it was obtained.

    Tries, in order: the workspace as it is, the local DVC cache, and regenerating the default
    simulated dataset (verified against the recorded hash, and removed again on a mismatch).
    """
    from .simulate import SimulationConfig
    from .simulated_raw import write_dataset

    raw_dir = Path(raw_dir)
    if raw_dir.exists():
        if dvc_data_clean(dvc_file):
            return "already up to date"
        raise DataError(f"{raw_dir} differs from what {dvc_file} records", path=raw_dir,
                        fix=f"restore it with `dvc checkout {dvc_file}`, or record the new data "
                            f"with `dvc commit {dvc_file}` (or `gansemble import-data`)")
    checkout = subprocess.run([sys.executable, "-m", "dvc", "checkout", str(dvc_file)],
                              capture_output=True, text=True)
    if checkout.returncode == 0 and raw_dir.exists() and dvc_data_clean(dvc_file):
        return "checked out from the local DVC cache"
    # DVC's own words on why the cache could not restore it (on a fresh clone: the cache is
    # empty), passed on rather than dropped
    said = " ".join((checkout.stderr or checkout.stdout or "").split())[:300]
    why = f"`dvc checkout` could not restore it ({said or f'exit {checkout.returncode}'})"
    write_dataset(raw_dir, SimulationConfig(), overwrite=True)
    if dvc_data_clean(dvc_file):
        _dvc("commit", "--force", "--quiet", str(dvc_file))  # fill the local cache
        return f"regenerated by the simulator and verified against data.dvc; {why}"
    shutil.rmtree(raw_dir)  # our own regeneration, which is not the recorded data
    raise DataError(f"{dvc_file} records data that is neither in the local cache nor the default "
                    f"simulated dataset: {why}, and the regenerated default dataset has "
                    "another hash (it was removed again)", path=dvc_file,
                    fix="fetch it with `dvc pull` from the remote that holds it, or go back to "
                        "the default with `git checkout data.dvc`")
