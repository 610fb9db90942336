"""In-memory forms of the two input modalities, shared by loaders and the prepare stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Spectrum:
    """One measured spectrum on its own axis (wavenumber, cm^-1), increasing."""

    label: str
    axis: np.ndarray
    intensity: np.ndarray
    source: str  # "file" or "file:column" - where it came from, for reports and errors


@dataclass(frozen=True)
class LabelledImage:
    """One image already at the working size: uint8 array of shape (C, H, W)."""

    label: str
    pixels: np.ndarray
    source: str
