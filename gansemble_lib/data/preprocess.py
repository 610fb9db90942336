"""Spectra onto one axis, baseline removed, normalised: the matrix every later stage uses.

Real spectra come on different axes (instrument, range, step), sit on sloping fluorescence
or biofilm baselines, and differ in overall intensity for reasons that say nothing about the
polymer. The steps here remove those differences in a fixed, documented order:
:func:`common_axis` -> :func:`resample` -> :func:`remove_baseline` -> :func:`normalise`,
or all of them at once with :func:`preprocess`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from scipy.linalg import solveh_banded
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from ..core.errors import DataError
from ..core.records import Spectrum

BASELINES = ("none", "als", "rolling_min")
NORMALISATIONS = ("minmax", "l2", "area", "none")
# Settings each baseline method reads. A setting of another method is ignored rather than
# refused, so one config can carry the ALS settings while a run switches methods; a name no
# method knows is a typo and is refused.
_BASELINE_SETTINGS = {"none": (), "als": ("lam", "p", "niter"), "rolling_min": ("window",)}


def _check_choice(kind: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise DataError(f"unknown {kind} {value!r}", fix=f"use one of: {', '.join(allowed)}")


def common_axis(spectra: Sequence[Spectrum], *, start: float | None = None,
                stop: float | None = None, points: int = 1000) -> np.ndarray:
    """``points`` evenly spaced wavenumbers from ``start`` to ``stop`` (both included).

    The default range is the overlap of all spectra, the widest range on which every spectrum
    is measured: interpolating is fine, but extrapolating would invent data.
    """
    if not spectra:
        raise DataError("no spectra to put on a common axis", fix="load at least one spectrum")
    if points < 2:
        raise DataError(f"points={points} is too few for an axis", fix="use at least 2 points")
    low = max(spectra, key=lambda s: s.axis[0])
    high = min(spectra, key=lambda s: s.axis[-1])
    lo, hi = float(low.axis[0]), float(high.axis[-1])
    if lo >= hi:
        raise DataError(f"the spectra share no wavenumber range: {low.source} starts at {lo:g} "
                        f"but {high.source} ends at {hi:g}",
                        fix="leave out the spectra measured on another range")
    start = lo if start is None else float(start)
    stop = hi if stop is None else float(stop)
    if start >= stop:
        raise DataError(f"axis start {start:g} is not below stop {stop:g}",
                        fix="swap them or choose another range")
    if start < lo or stop > hi:
        raise DataError(f"requested range {start:g}..{stop:g} is outside the range every "
                        f"spectrum covers ({lo:g}..{hi:g}, limited by {low.source} and "
                        f"{high.source})", fix=f"choose start >= {lo:g} and stop <= {hi:g}, or "
                                               "leave them unset")
    return np.linspace(start, stop, points)


def resample(spectra: Sequence[Spectrum], axis: np.ndarray) -> np.ndarray:
    """Intensities on ``axis`` by linear interpolation, shape ``(len(spectra), len(axis))``.

    Refuses an axis outside a spectrum's range, where ``np.interp`` would silently repeat the
    end value.
    """
    axis = np.asarray(axis, dtype=np.float64)
    rows = []
    for s in spectra:
        if axis[0] < s.axis[0] or axis[-1] > s.axis[-1]:
            raise DataError(f"axis {axis[0]:g}..{axis[-1]:g} reaches outside the spectrum's "
                            f"range {s.axis[0]:g}..{s.axis[-1]:g}", where=s.source,
                            fix="build the axis with common_axis()")
        rows.append(np.interp(axis, s.axis, s.intensity))
    return np.vstack(rows) if rows else np.empty((0, axis.size))


def _matrix(X: np.ndarray) -> np.ndarray:
    X = np.array(X, dtype=np.float64)  # a copy: callers keep their input
    if X.ndim != 2:
        raise DataError(f"expected a 2-D array (spectra x points), got shape {X.shape}",
                        fix="stack the spectra into one row each")
    return X


def als_baseline(y: np.ndarray, *, lam: float = 1e5, p: float = 0.01,
                 niter: int = 10) -> np.ndarray:
    """Asymmetric least squares baseline of one spectrum (Eilers & Boelens 2005).

    Minimises ``sum w_i (y_i - z_i)^2 + lam * sum (second difference of z)^2`` and re-weights:
    points above the current baseline (peaks) get weight ``p``, points below get ``1 - p``, so
    the smooth curve settles under the peaks. Larger ``lam`` gives a stiffer baseline.
    """
    m = y.size
    second_diff = sparse.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(m - 2, m), format="csc")
    penalty = lam * (second_diff.T @ second_diff)
    # W + lam D'D is symmetric, positive definite and pentadiagonal: a banded Cholesky solve
    # (upper form, ab[2 + i - j, j] = A[i, j]) is ~10x faster than a general sparse solve
    banded = np.zeros((3, m))
    banded[0, 2:] = penalty.diagonal(2)
    banded[1, 1:] = penalty.diagonal(1)
    main = penalty.diagonal(0)
    weights = np.ones(m)
    for _ in range(niter):
        banded[2] = main + weights
        baseline = solveh_banded(banded, weights * y)
        weights = np.where(y > baseline, p, 1.0 - p)
    return baseline


def _rolling_min_baseline(X: np.ndarray, window: int) -> np.ndarray:
    """Moving minimum, then a moving mean of the same width to remove its staircase steps."""
    lower = minimum_filter1d(X, size=window, axis=1, mode="nearest")
    return uniform_filter1d(lower, size=window, axis=1, mode="nearest")


def _baseline_settings(method: str, settings: dict) -> dict:
    known = {name for names in _BASELINE_SETTINGS.values() for name in names}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise DataError(f"unknown baseline setting(s) {', '.join(unknown)}",
                        fix=f"use: {', '.join(sorted(known))}")
    used = {k: v for k, v in settings.items() if k in _BASELINE_SETTINGS[method]}
    if not used.get("lam", 1.0) > 0 or not 0 < used.get("p", 0.5) < 1:
        raise DataError("ALS needs lam > 0 and 0 < p < 1",
                        fix="typical values: lam 1e4..1e7, p 0.001..0.05")
    if int(used.get("niter", 1)) < 1 or int(used.get("window", 3)) < 3:
        raise DataError("niter must be >= 1 and window >= 3 points",
                        fix="increase the value in the configuration")
    return used


def remove_baseline(X: np.ndarray, method: str = "als", **settings: float) -> np.ndarray:
    """``X`` minus a per-row baseline estimated by ``method`` (one of :data:`BASELINES`).

    ``als`` takes ``lam`` (1e5), ``p`` (0.01) and ``niter`` (10); ``rolling_min`` takes
    ``window`` in points (101, clipped to the row length). Settings meant for another method
    are ignored; unknown names raise DataError. Rows shorter than 3 points have no curvature
    to fit and are returned unchanged.
    """
    _check_choice("baseline method", method, BASELINES)
    used = _baseline_settings(method, settings)
    X = _matrix(X)
    if method == "als" and X.shape[1] >= 3:
        lam, p = float(used.get("lam", 1e5)), float(used.get("p", 0.01))
        niter = int(used.get("niter", 10))
        return X - np.vstack([als_baseline(row, lam=lam, p=p, niter=niter) for row in X])
    if method == "rolling_min" and X.shape[1] >= 3:
        window = min(int(used.get("window", 101)), X.shape[1])
        return X - _rolling_min_baseline(X, window)
    return X


def normalise(X: np.ndarray, method: str = "minmax") -> np.ndarray:
    """Row-wise scaling, one of :data:`NORMALISATIONS`.

    ``minmax`` maps each row to 0..1, ``l2`` to unit Euclidean norm, ``area`` to a sum of
    absolute values of 1 (the area under ``|x|`` with unit point spacing - on a uniform axis a
    constant multiple of the true integral). A row with zero range (or zero norm/area) cannot
    be scaled: it becomes all zeros rather than NaN, and the caller decides whether to drop it
    (``prepare`` reports such rows as constant and leaves them out).
    """
    _check_choice("normalisation", method, NORMALISATIONS)
    X = _matrix(X)
    if method == "none":
        return X
    if method == "minmax":
        X = X - X.min(axis=1, keepdims=True)
        scale = X.max(axis=1, keepdims=True)
    elif method == "l2":
        scale = np.linalg.norm(X, axis=1, keepdims=True)
    else:
        scale = np.abs(X).sum(axis=1, keepdims=True)
    safe = np.where(scale > 0, scale, 1.0)
    return np.where(scale > 0, X / safe, 0.0)


def preprocess(spectra: Sequence[Spectrum], *, start: float | None = None,
               stop: float | None = None, points: int = 1000, baseline: str = "als",
               normalisation: str = "minmax", **settings: float) -> tuple[np.ndarray, np.ndarray]:
    """``(axis, X)``: spectra on a common axis, baseline removed, normalised row-wise.

    Method names are checked before any work so a typo fails at once; ``settings`` go to
    :func:`remove_baseline`.
    """
    _check_choice("baseline method", baseline, BASELINES)
    _check_choice("normalisation", normalisation, NORMALISATIONS)
    _baseline_settings(baseline, settings)
    axis = common_axis(spectra, start=start, stop=stop, points=points)
    X = remove_baseline(resample(spectra, axis), baseline, **settings)
    return axis, normalise(X, normalisation)
