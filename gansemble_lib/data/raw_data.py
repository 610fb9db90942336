"""``data/raw``: its descriptor and loading it (importing and the default dataset:
:mod:`.import_data`).

``data/raw`` always holds the input files unchanged plus ``dataset.yaml``, which says how to
read them (modality, layout, loader options) and which classes to leave out
(``exclude_classes``, written by ``import-data --drop-small-classes``). The default dataset is
the simulator's output; it is not stored in git but regenerated offline and checked against the
hash in ``data.dvc``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.constants import DATASET_DESCRIPTOR, IMAGES, SPECTRA
from ..core.errors import DataError, LoadReport
from ..core.io_utils import read_yaml
from ..core.records import LabelledImage, Spectrum
from .spectra_io import FORMATS as SPECTRA_FORMATS

ALL_FORMATS = ("auto", *SPECTRA_FORMATS, IMAGES)


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
