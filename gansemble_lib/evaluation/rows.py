"""The rows of the downstream comparison as data: what each row trains on, with which
classifier, against which baseline.

Stage 06 creates one :class:`RowRecord` per row where it builds the row, and writes them into
its metrics (``row_records``); the verdicts across units (06b), the README's answer, RESULTS.md
and the report's figures read the records' fields. Nothing recovers a row's generator, filter
or family from its name. The row names themselves stay readable labels for tables.

This module also owns the words of the comparison: the baseline row, the column names of the
predictions, and the verdicts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

REAL_ONLY = "real only"
ROW, SEED, Y_TRUE, Y_PRED, SAMPLE = "row", "seed", "y_true", "y_pred", "test_index"
FOLD = "fold"  # the unit a score or prediction comes from (a fold or a replicate)

# verdicts of a row against its baseline (crossval.verdict)
BETTER, EQUIVALENT, WORSE, UNDECIDED = ("better", "practically equivalent", "worse",
                                        "undecided")
MISSING = "missing in some folds"
VERDICTS = (BETTER, EQUIVALENT, WORSE, UNDECIDED, MISSING)

# what a row trains on
REAL = "real"  # the real train part only: the baseline of its classifier
BASELINE = "baseline"  # real + a method without a generator (re-weighting, oversampling, ...)
SYNTHETIC = "synthetic"  # real + one generator's (filtered) set
COMBO = "combo"  # real + a generator's set + ordinary augmentation (the GANsemble recipe)
TSTR = "tstr"  # a generator's set alone (train on synthetic, test on real)
ORACLE = "oracle"  # real + fresh simulated spectra (more real data, not a method)
REFERENCE = "reference"  # another classifier on the real spectra only
KINDS = (REAL, BASELINE, SYNTHETIC, COMBO, TSTR, ORACLE, REFERENCE)
GENERATED = (SYNTHETIC, COMBO, TSTR)  # the kinds whose data come from a generator

# the classifier a row trains
IMAGE_CNN = "image CNN"  # downstream.classifier on the polar images
LOGREG_ROW = "logistic regression (spectra)"
NN_ROW = "correlation 1-NN (spectra)"
CNN_ROW = "1-D CNN (spectra)"
SPECTRUM_CLASSIFIERS = (LOGREG_ROW, CNN_ROW)  # each trained on real spectra, then + synthetic
# real-only rows of every classifier: the image CNN's first (the baseline of the methods)
REFERENCE_ROWS = (REAL_ONLY, LOGREG_ROW, NN_ROW, CNN_ROW)

SMOTE_ROW = "SMOTE on spectra (rendered)"
# One name whatever the chooser picked, so that the row pairs across folds (each fold's chooser
# may pick another strategy; stage 02's record in each fold says which).
AUGMENTATION_ROW = "ordinary augmentation (the chooser's pick)"
SPECTRAL_AUG_ROW = "spectral augmentation (the chooser's best of 16-18)"


@dataclasses.dataclass(frozen=True)
class RowRecord:
    """One row of stage 06: its name and what it is.

    ``source`` is the generator (or the baseline's source, ``smote``) whose set the row adds,
    ``filter`` the stage-04 filter of that set; ``baseline`` is the row it is judged against
    (real-only for the image CNN, the same classifier on real spectra for the spectrum
    classifiers); ``curve`` and ``k`` say which oracle point a row is.
    """

    name: str
    kind: str
    classifier: str = IMAGE_CNN
    source: str | None = None
    filter: str | None = None
    baseline: str = REAL_ONLY
    curve: str | None = None
    k: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"row {self.name!r}: unknown kind {self.kind!r}")

    @property
    def generator(self) -> str | None:
        """The generator whose samples the row uses (None: no generator)."""
        return self.source if self.kind in GENERATED else None

    def as_json(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "name"}


def set_row_name(source: str, filter_name: str) -> str:
    return f"{source} + {filter_name} filter" if filter_name != "none" else f"{source} (no filter)"


def spectrum_row_name(classifier: str, extra: str | None) -> str:
    return classifier if extra is None else f"{classifier} + {extra}"


def spectra_only_rows(filters: tuple[str, ...] = ("none", "symp", "strong")) -> list[str]:
    """Rows that need spectra: SMOTE, the spectrum GAN's and modern_spec's sets, the spectrum
    classifiers' real-only rows (their synthetic rows exist only for spectra anyway)."""
    return [SMOTE_ROW, *(set_row_name(g, f) for g in ("spectrum", "modern_spec")
                         for f in filters), LOGREG_ROW, CNN_ROW, NN_ROW]


def to_json(records: dict[str, RowRecord]) -> dict[str, dict]:
    """{row name: its fields}, in the rows' order (for a metrics file)."""
    return {name: r.as_json() for name, r in records.items()}


def from_json(*maps: dict[str, dict]) -> dict[str, RowRecord]:
    """Records from one or more metrics files' ``row_records`` (the units of a run), first seen
    first; a row that two units describe differently is an error."""
    out: dict[str, RowRecord] = {}
    for mapping in maps:
        for name, fields in (mapping or {}).items():
            record = RowRecord(name, **fields)
            if out.setdefault(name, record) != record:
                raise ValueError(f"row {name!r} is described differently by two units: "
                                 f"{out[name]} and {record}")
    return out


def image_rows(records: dict[str, RowRecord], kinds: tuple[str, ...],
               names: Iterable[str] | None = None) -> list[str]:
    """The image CNN's rows of these kinds, in the order of ``names`` (default: the records')
    and only those among them; a name without a record is a row no unit trained (a table's
    "not applicable to images" line) and belongs to no kind."""
    return [n for n in (records if names is None else names) if n in records
            and records[n].classifier == IMAGE_CNN and records[n].kind in kinds]


def generated_rows(records: dict[str, RowRecord], names: Iterable[str] | None = None
                   ) -> list[str]:
    """The image CNN's rows that use generated data (including train-on-synthetic)."""
    return image_rows(records, GENERATED, names)


def baseline_rows(records: dict[str, RowRecord], names: Iterable[str] | None = None
                  ) -> list[str]:
    """The image CNN's rows of methods without a generator."""
    return image_rows(records, (BASELINE,), names)


def oracle_rows(records: dict[str, RowRecord]) -> list[str]:
    return [n for n, r in records.items() if r.kind == ORACLE]


def spectrum_families(records: dict[str, RowRecord]) -> dict[str, list[str]]:
    """{spectrum classifier's real-only row: its rows with synthetic spectra}."""
    return {base: [n for n, r in records.items() if r.baseline == base and n != base]
            for base in SPECTRUM_CLASSIFIERS}


def generators_of(records: dict[str, RowRecord]) -> dict[str, str | None]:
    """{row: the generator whose samples it uses, or None}."""
    return {n: r.generator for n, r in records.items()}
