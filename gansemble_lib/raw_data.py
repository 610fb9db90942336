"""``data/raw``: its descriptor, loading it, importing one's own data, the default dataset.

``data/raw`` always holds the input files unchanged plus ``dataset.yaml``, which says how to
read them (modality, layout, loader options) and which classes to leave out
(``exclude_classes``, written by ``import-data --drop-small-classes``). The default dataset is
the simulator's output; it is not stored in git but regenerated offline and checked against the
hash in ``data.dvc``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .constants import DATASET_DESCRIPTOR, IMAGES, SPECTRA
from .errors import DataError, LoadReport
from .io_utils import read_yaml
from .records import LabelledImage, Spectrum

SPECTRA_FORMATS = ("wide_wavenumber", "wide_label", "folder")
ALL_FORMATS = ("auto", *SPECTRA_FORMATS, IMAGES)
LOADER_OPTIONS = ("label_column", "wavenumber_column", "label_regex")


@dataclass(frozen=True)
class Descriptor:
    """The parsed ``dataset.yaml``."""

    modality: str
    format: str
    files: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    exclude_classes: tuple[str, ...] = ()  # classes load_raw leaves out (too small for the folds)
    simulation: dict | None = None  # the simulator's settings (origin: simulated), else None


@dataclass
class RawData:
    modality: str
    spectra: list[Spectrum]
    images: list[LabelledImage]
    report: LoadReport

    @property
    def labels(self) -> list[str]:
        items = self.spectra if self.modality == SPECTRA else self.images
        return [item.label for item in items]


def read_descriptor(raw_dir: str | Path) -> Descriptor:
    path = Path(raw_dir) / DATASET_DESCRIPTOR
    if not path.is_file():
        raise DataError("no dataset descriptor", path=path,
                        fix="materialise the default data with `gansemble fetch-data` or import "
                            "your own with `gansemble import-data SRC --format ...`")
    return _parse_descriptor(read_yaml(path) or {}, path)


def _parse_descriptor(meta: object, path: Path) -> Descriptor:
    if not isinstance(meta, dict):
        raise DataError("expected a mapping of keys", path=path,
                        fix="re-import the data with `gansemble import-data`")
    for key in ("modality", "format", "files"):
        if key not in meta:
            raise DataError(f"missing key {key!r}", path=path,
                            fix="re-import the data with `gansemble import-data`")
    if meta["modality"] not in (SPECTRA, IMAGES):
        raise DataError(f"modality {meta['modality']!r} is unknown", path=path,
                        where="key 'modality'", fix=f"use {SPECTRA!r} or {IMAGES!r}")
    if meta["format"] not in ALL_FORMATS:
        raise DataError(f"format {meta['format']!r} is unknown", path=path, where="key 'format'",
                        fix=f"use one of: {', '.join(ALL_FORMATS)}")
    options = {k: v for k, v in (meta.get("options") or {}).items() if v is not None}
    exclude = meta.get("exclude_classes") or []
    if not isinstance(exclude, list) or not all(isinstance(c, str) for c in exclude):
        raise DataError("exclude_classes must be a list of class names", path=path,
                        where="key 'exclude_classes'",
                        fix="write it as [name, ...] or remove the key to keep every class")
    simulation = meta.get("simulation") if meta.get("origin") == "simulated" else None
    return Descriptor(meta["modality"], meta["format"], tuple(meta["files"]), options,
                      tuple(exclude), dict(simulation) if isinstance(simulation, dict) else None)


def raw_modality(raw_dir: str | Path = "data/raw") -> str:
    """The modality of the data in ``raw_dir`` (from its ``dataset.yaml``)."""
    return read_descriptor(raw_dir).modality


def load_raw(raw_dir: str | Path, *, image_size: int = 64, channels: int = 1) -> RawData:
    """Load everything ``data/raw`` describes, with a report of what was skipped.

    The classes ``dataset.yaml`` excludes are left out, each with a note in the report.
    """
    raw_dir = Path(raw_dir)
    desc = read_descriptor(raw_dir)
    paths = [raw_dir / name for name in desc.files]
    for path in paths:
        if not path.exists():
            raise DataError("file listed in dataset.yaml is missing", path=path,
                            fix="restore it (`dvc checkout data.dvc`) or re-import the data")
    return _exclude(_load_files(desc, paths, image_size=image_size, channels=channels),
                    desc.exclude_classes)


def _load_files(desc: Descriptor, paths: list[Path], *, image_size: int = 64,
                channels: int = 1) -> RawData:
    """Load ``paths`` (one per ``desc.files``) as ``desc`` says; errors name these paths."""
    from .images_io import load_image_folder
    from .spectra_io import load_spectra

    report = LoadReport()
    spectra: list[Spectrum] = []
    images: list[LabelledImage] = []
    for path in paths:
        if desc.modality == IMAGES:
            items, part = load_image_folder(path, size=image_size, channels=channels)
            images.extend(items)
        else:
            items, part = load_spectra(path, format=desc.format, **desc.options)
            spectra.extend(items)
        report.merge(part)
    return RawData(desc.modality, spectra, images, report)


def _exclude(data: RawData, classes: tuple[str, ...],
             notes: dict[str, str] | None = None) -> RawData:
    """``data`` without the samples of ``classes``; a note per class says what was dropped
    (``notes[name]`` when given, e.g. the import's count and minimum)."""
    if not classes:
        return data
    counts = Counter(data.labels)
    for name in classes:
        n = counts.get(name, 0)
        listed = f"listed under exclude_classes in {DATASET_DESCRIPTOR}"
        if notes and name in notes:
            data.report.notes.append(f"{notes[name]} ({listed})")
        elif n == 0:
            data.report.notes.append(f"class {name!r} is {listed} but has no samples")
        else:
            data.report.notes.append(f"dropped class {name!r} ({n} sample{'' if n == 1 else 's'};"
                                     f" {listed})")
    dropped = set(classes)
    spectra = [s for s in data.spectra if s.label not in dropped]
    images = [i for i in data.images if i.label not in dropped]
    data.report.loaded -= len(data.spectra) + len(data.images) - len(spectra) - len(images)
    return RawData(data.modality, spectra, images, data.report)


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
    from .io_utils import atomic_dir
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
    from .simulate import SimulationConfig, write_dataset

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
