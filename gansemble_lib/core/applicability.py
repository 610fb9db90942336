"""What only means something for spectra, and how a table for images says so.

For an image set there is no spectrum to generate (the 1-D spectrum GAN), to interpolate
(SMOTE), to decode and match against a library (chemical validity) or to classify directly
(the chemist's reference). Those rows stay in every table, with empty values and the note
:data:`NOT_APPLICABLE`, so that a reader of an image run sees they were not forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from .constants import SPECTRA

NOT_APPLICABLE = "not applicable to images"
NOTE = "note"
# stage-04 sources that need spectra: the spectrum GAN (a generator variant) and SMOTE
SPECTRA_ONLY_SOURCES = ("spectrum", "smote")


def applies(modality: str) -> bool:
    """Whether the spectrum-only steps apply to data of this modality."""
    return modality == SPECTRA


def mark_not_applicable(frame: pd.DataFrame, keys: Iterable, *, modality: str,
                        note_column: str = NOTE) -> pd.DataFrame:
    """``frame`` plus one row per key (an index value), empty but for the note, for images.

    Spectra input is returned unchanged. Keys already in the frame keep their values.
    """
    if applies(modality):
        return frame
    missing = [key for key in keys if key not in frame.index]
    if not missing:
        return frame
    index = (pd.MultiIndex.from_tuples(missing, names=frame.index.names)
             if isinstance(frame.index, pd.MultiIndex)
             else pd.Index(missing, name=frame.index.name))
    extra = pd.DataFrame(np.nan, index=index, columns=frame.columns).astype(
        {c: object for c in frame.columns})
    extra[note_column] = NOT_APPLICABLE
    out = frame.copy()
    if note_column not in out.columns:
        out[note_column] = ""
    return pd.concat([out.astype(object), extra[out.columns]])


def source_keys(filters: Sequence[str]) -> list[tuple[str, str]]:
    """(source, filter) keys of the spectra-only stage-04 sets."""
    return [(source, name) for source in SPECTRA_ONLY_SOURCES for name in filters]


def whole_table_not_applicable(what: str) -> pd.DataFrame:
    """A one-row table standing for a whole analysis that images do not have."""
    return pd.DataFrame({NOTE: [NOT_APPLICABLE]}, index=pd.Index([what], name="analysis"))
