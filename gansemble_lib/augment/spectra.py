"""Label-preserving augmentation of spectra, applied before rendering (strategies 16-18).

The paper's 15 image strategies move pixels of the polar image. For a polar spectrum the
angle *is* the wavenumber, so turning, flipping or rolling the picture moves every band to
another wavenumber: the result is no longer a spectrum of the same polymer (see
:data:`gansemble_lib.augment.images.MEANING`). The changes below are the ones a real measurement of
the same material shows, applied to the spectrum, after which it is rendered exactly as
``prepare`` renders real spectra:

- **jitter** (strategy 16): a whole-spectrum calibration shift of up to ``shift_cm`` cm^-1,
  band broadening by a Gaussian of up to ``broaden_cm`` cm^-1 (focus, crystallinity), a smooth
  relative-intensity gain of up to ``gain_max`` (orientation, morphology), a smooth baseline
  drift of up to ``baseline_max`` of the spectrum's range (fluorescence left after baseline
  removal), and white noise of up to ``noise_max`` of the range (detector);
- **mixup** (strategy 17): a convex mixture of two spectra of the same class, weight uniform in
  [``mix_min``, ``mix_max``] (two particles of one polymer in one spot, or an intermediate
  measurement);
- **mixup + jitter** (strategy 18).

The bounds are params.yaml's ``spectral_augment`` section (:class:`SpectralAugmentParams`);
magnitudes are in wavenumbers or fractions of each spectrum's range, so they mean the same on
any axis. Every function takes (N, M) float spectra and the Generator to draw from, draws
parameters independently per spectrum, and never writes into its input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..core.config import PrepareParams, SpectralAugmentParams
from ..core.errors import DataError

JITTER, MIXUP = "spectral jitter", "within-class mixup"
SPECTRAL_STRATEGIES: dict[int, tuple[str, ...]] = {16: (JITTER,), 17: (MIXUP,),
                                                   18: (MIXUP, JITTER)}


@dataclass(frozen=True)
class SpectralSource:
    """The spectra behind a set of polar images, and how to render augmented ones."""

    spectra: np.ndarray  # (N, M), one row per image, in image order
    axis: np.ndarray  # (M,) wavenumbers, evenly spaced
    render: PrepareParams
    bounds: SpectralAugmentParams  # how far an augmented spectrum may move

    @classmethod
    def of(cls, prepared, subset, bounds: SpectralAugmentParams) -> SpectralSource | None:
        """From prepared data and one of its subsets (None for image data: no spectra)."""
        if subset.spectra is None or prepared.axis is None:
            return None
        from ..data.dataset import render_params

        return cls(np.asarray(subset.spectra, dtype=float),
                   np.asarray(prepared.axis, dtype=float), render_params(prepared.info),
                   bounds)


def _smooth_curves(n: int, points: int, knots: int, rng: np.random.Generator) -> np.ndarray:
    """(n, points) smooth random curves in [-1, 1]: linear through ``knots`` random knots."""
    values = rng.uniform(-1.0, 1.0, size=(n, knots))
    grid = np.linspace(0, knots - 1, points)
    return np.stack([np.interp(grid, np.arange(knots), k) for k in values])


def jitter(spectra: np.ndarray, axis: np.ndarray, rng: np.random.Generator,
           bounds: SpectralAugmentParams) -> np.ndarray:
    """Shift, broaden, smooth gain, baseline drift and noise (see the module docstring)."""
    n, points = spectra.shape
    step = float(np.mean(np.diff(axis))) if points > 1 else 1.0
    out = np.empty_like(spectra, dtype=float)
    shifts = rng.uniform(-bounds.shift_cm, bounds.shift_cm, n)
    widths = rng.uniform(0.0, bounds.broaden_cm, n) / abs(step)
    for i in range(n):
        moved = np.interp(axis - shifts[i], axis, spectra[i])
        out[i] = gaussian_filter1d(moved, widths[i], mode="nearest") if widths[i] > 0.05 \
            else moved
    span = np.ptp(spectra, axis=1, keepdims=True)
    knots = bounds.smooth_knots
    gain = 1.0 + bounds.gain_max * rng.uniform(0, 1, (n, 1)) * _smooth_curves(n, points, knots,
                                                                               rng)
    drift = bounds.baseline_max * rng.uniform(0, 1, (n, 1)) * _smooth_curves(n, points, knots,
                                                                              rng)
    noise = bounds.noise_max * rng.uniform(0, 1, (n, 1)) * rng.standard_normal((n, points))
    low = out.min(axis=1, keepdims=True)
    return (out - low) * gain + low + (drift + noise) * span


def mixup(spectra: np.ndarray, partners: np.ndarray, rng: np.random.Generator,
          bounds: SpectralAugmentParams) -> np.ndarray:
    """Convex mixtures of each spectrum with its partner (same class)."""
    weight = rng.uniform(bounds.mix_min, bounds.mix_max, size=(len(spectra), 1))
    return weight * spectra + (1 - weight) * partners


def is_spectral(strategy: int) -> bool:
    return strategy in SPECTRAL_STRATEGIES


def _others(labels: np.ndarray, index: int) -> np.ndarray:
    """The other members of ``index``'s class (itself only when it is alone)."""
    members = np.flatnonzero(labels == labels[index])
    others = members[members != index]
    return others if len(others) else members


def augmented_spectra(source: SpectralSource, labels: np.ndarray, parents: np.ndarray,
                      strategy: int, rng: np.random.Generator) -> np.ndarray:
    """Augmented copies (spectra) of ``source.spectra[parents]`` under ``strategy``."""
    spectra = source.spectra[parents]
    for step in SPECTRAL_STRATEGIES[strategy]:
        if step == MIXUP:
            partners = np.array([rng.choice(_others(labels, p)) for p in parents], dtype=np.intp)
            spectra = mixup(spectra, source.spectra[partners], rng, source.bounds)
        else:
            spectra = jitter(spectra, source.axis, rng, source.bounds)
    return spectra


def augmented_images(source: SpectralSource | None, labels: np.ndarray, parents: np.ndarray,
                     strategy: int, rng: np.random.Generator) -> np.ndarray:
    """Augmented copies rendered as polar images, exactly as ``prepare`` renders."""
    if source is None:
        raise DataError(f"strategy {strategy} augments spectra, but these data are images",
                        fix="use the image strategies 0-15 (choose.strategies)")
    if len(source.spectra) != len(labels):
        raise DataError(f"{len(source.spectra)} spectra for {len(labels)} images",
                        fix="pass the spectra of the same subset as the images")
    from ..data.polar import render_spectra

    spectra = augmented_spectra(source, np.asarray(labels), parents, strategy, rng)
    if not len(spectra):
        shape = (source.render.channels, source.render.image_size, source.render.image_size)
        return np.zeros((0, *shape), dtype=np.uint8)
    return render_spectra(spectra, source.render)
