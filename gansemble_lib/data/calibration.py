"""Calibrating the spectrum simulator on real Raman spectra of microplastics (RaMPP).

RaMPP (Kumar et al., "Spatio-chemical analysis of the plastisphere using Raman spectroscopy",
Diversity 12 (2020) 147; CC BY 4.0) holds one pristine reference spectrum per polymer and 4-9
spectra of environmentally incubated particles of each (freshwater and seawater). This module
turns them into *derived* parameters for :mod:`simulate` and never stores the spectra:

- a **band template** per polymer: pseudo-Voigt bands (position, height, FWHM, Lorentzian
  fraction) least-squares fitted to the baseline-corrected reference;
- one **nuisance record** per environmental spectrum, what turns the reference into that
  measurement: whole-spectrum shift and Gaussian broadening (best correlation), the scatter of
  band heights, the fluorescence baseline's height and tilt relative to the Raman signal, the
  noise level, the number of cosmic-ray spikes, and the residual left after all that (biofilm,
  pigments, fillers) as scores on a few principal components shared by all polymers.

The simulator draws, for each synthetic spectrum of a polymer, one of that polymer's records
(jointly, so nuisances that go together stay together) and perturbs it, so the simulated
spread is the real one rather than a guess. ``gansemble calibrate`` rewrites the committed
``simulator_calibration.json`` from a RaMPP folder; clones without the data regenerate the
default dataset from that file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d, median_filter
from scipy.optimize import least_squares
from scipy.signal import find_peaks, savgol_filter

from ..core.errors import DataError
from .preprocess import als_baseline

CALIBRATION_FILE = Path(__file__).with_name("simulator_calibration.json")
REFERENCES = "References.CSV"
VARIANTS = ("Microplasbial MP variants FW.CSV", "Microplasbial MP variants SW.CSV")
AXIS = (200.0, 3400.0, 1000)  # the simulator's default axis (cm^-1): start, stop, points
ATTRIBUTION = ("Derived from RaMPP (Maki-science/RaMPP, data-raw/; Kumar, Ramsperger, Kiene, "
               "Brehm, Loeder, Laforsch, Diversity 12 (2020) 147, doi:10.3390/d12040147), "
               "CC BY 4.0: fitted band parameters and nuisance statistics, no spectra.")
MAX_BANDS = 40
SHIFTS = np.arange(-10.0, 10.01, 0.5)  # cm^-1 searched for the whole-spectrum shift
WIDTHS = np.arange(0.0, 15.01, 0.5)  # cm^-1 (Gaussian sd) searched for the broadening
COMPONENTS = 4  # principal components of the residuals whose scores each record keeps
EXTRA_COMPONENTS = 16  # further components: shapes and spreads kept, drawn afresh per spectrum
RESIDUAL_POINTS = 250  # the components are stored at this resolution


def axis() -> np.ndarray:
    start, stop, points = AXIS
    return np.linspace(start, stop, points)


def _on_axis(spectrum, grid: np.ndarray) -> np.ndarray:
    return np.interp(grid, spectrum.axis, spectrum.intensity)


def load_rampp(folder: str | Path, files: tuple[str, ...] = VARIANTS
               ) -> tuple[dict[str, np.ndarray], list[tuple[str, np.ndarray]]]:
    """References {polymer: spectrum} and environmental variants [(polymer, spectrum)], all on
    :func:`axis` (raw intensities, baseline included)."""
    from .spectra_io import load_spectra

    folder = Path(folder)
    missing = [name for name in (REFERENCES, *files) if not (folder / name).is_file()]
    if missing:
        raise DataError(f"missing {', '.join(missing)}", path=folder,
                        fix="point to the RaMPP data-raw folder (../shared/data/rampp)")
    grid = axis()
    refs, _ = load_spectra(folder / REFERENCES, format="wide_wavenumber")
    references = {s.label: _on_axis(s, grid) for s in refs}
    variants = []
    for name in files:
        spectra, _ = load_spectra(folder / name, format="wide_wavenumber")
        variants += [(s.label, _on_axis(s, grid)) for s in spectra]
    return references, variants


def signal_of(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """(Raman signal scaled to max 1, baseline on that scale, the scale): ALS baseline removal
    with the prepare stage's defaults."""
    baseline = als_baseline(y, lam=1e5, p=0.01)
    signal = y - baseline
    scale = float(signal.max()) if signal.max() > 0 else 1.0
    return signal / scale, baseline / scale, scale


def pseudo_voigt(grid: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """Sum of pseudo-Voigt bands; rows (position, height, FWHM, Lorentzian fraction)."""
    pos, height, fwhm, eta = (bands[:, i, None] for i in range(4))
    u = (grid[None, :] - pos) / fwhm
    return (height * (eta / (1 + 4 * u**2) + (1 - eta) * np.exp(-4 * np.log(2) * u**2))).sum(0)


def fit_bands(grid: np.ndarray, signal: np.ndarray, *, max_bands: int = MAX_BANDS) -> np.ndarray:
    """Pseudo-Voigt bands fitted to a baseline-free signal (max 1): peaks by prominence, then
    positions, heights, widths and shapes refined together by bounded least squares."""
    step = float(np.mean(np.diff(grid)))
    peaks, props = find_peaks(signal, prominence=0.02, distance=2)
    peaks = peaks[np.argsort(-props["prominences"])][:max_bands]
    if not len(peaks):
        raise DataError("no band found in the reference spectrum",
                        fix="check that the reference holds a Raman spectrum")
    start = np.column_stack([grid[peaks], signal[peaks], np.full(len(peaks), 4 * step),
                             np.full(len(peaks), 0.5)])
    low = np.column_stack([start[:, 0] - 3 * step, np.zeros(len(peaks)),
                           np.full(len(peaks), step), np.zeros(len(peaks))])
    high = np.column_stack([start[:, 0] + 3 * step, np.full(len(peaks), 1.5),
                            np.full(len(peaks), 200.0), np.ones(len(peaks))])

    def residual(flat: np.ndarray) -> np.ndarray:
        return pseudo_voigt(grid, flat.reshape(-1, 4)) - signal

    fit = least_squares(residual, start.ravel(), bounds=(low.ravel(), high.ravel()),
                        max_nfev=200)
    bands = fit.x.reshape(-1, 4)
    bands = bands[bands[:, 1] > 0.01]
    return bands[np.argsort(bands[:, 0])]


# Resonance-Raman bands of carotenoids (biofilm pigments): nu1 C=C, nu2 C-C, nu3 CH3 rock,
# heights relative to nu1 (e.g. Withnall et al., J. Raman Spectrosc. 34 (2003) 475).
CAROTENOID_BANDS = np.array([[1520.0, 1.0, 18.0, 0.5], [1157.0, 0.7, 14.0, 0.5],
                             [1005.0, 0.25, 10.0, 0.5]])


def carotenoid(grid: np.ndarray) -> np.ndarray:
    """The carotenoid band shape (max 1) on ``grid``."""
    return pseudo_voigt(grid, CAROTENOID_BANDS)


def _shifted(grid: np.ndarray, y: np.ndarray, shift: float, width: float) -> np.ndarray:
    step = float(np.mean(np.diff(grid)))
    moved = np.interp(grid - shift, grid, y)
    return gaussian_filter1d(moved, width / step) if width > 0 else moved


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / max(np.linalg.norm(a) * np.linalg.norm(b), 1e-12))


def scale_of(model: np.ndarray, signal: np.ndarray) -> float:
    """Least-squares factor that scales ``model`` onto ``signal``."""
    return float(model @ signal / max(model @ model, 1e-12))


def nuisance_record(grid: np.ndarray, template: np.ndarray, bands: np.ndarray,
                    raw: np.ndarray) -> tuple[dict, np.ndarray]:
    """What turns the reference signal ``template`` into the measurement ``raw``; and the
    residual (smoothed) left after shift, broadening and scaling."""
    signal, baseline, _ = signal_of(raw)
    shift = max(SHIFTS, key=lambda d: _corr(_shifted(grid, template, d, 0.0), signal))
    width = max(WIDTHS, key=lambda w: _corr(_shifted(grid, template, shift, w), signal))
    model = _shifted(grid, template, shift, width)
    scale = scale_of(model, signal)
    smooth = savgol_filter(signal, 11, 3)
    noise = float(1.4826 * np.median(np.abs(signal - smooth - np.median(signal - smooth))))
    # a cosmic-ray spike: a point far above its neighbours where the polymer has no band
    sharp = (signal - median_filter(signal, 5)) > max(10 * noise, 0.05)
    sharp &= (scale_of(model, signal) * model) < 0.05
    spikes = int(np.sum(sharp[1:] & ~sharp[:-1]) + sharp[0])
    strong = bands[bands[:, 1] >= 0.1]
    idx = np.clip(np.searchsorted(grid, strong[:, 0] + shift), 0, len(grid) - 1)
    ratios = np.log(np.maximum(signal[idx], 1e-3) / np.maximum(scale * model[idx], 1e-3))
    left = signal - scale * model
    # biofilm pigment: carotenoid bands, fitted on their own (their height varies most
    # between particles and between freshwater and seawater), then left out of the residual
    shape = carotenoid(grid)
    pigment = max(0.0, float(shape @ left / (shape @ shape)))
    residual = gaussian_filter1d(left - pigment * shape, 2.0)
    record = {
        "shift_cm": float(shift), "broadening_cm": float(width),
        "band_log_ratio_sd": float(np.std(ratios)) if len(ratios) > 1 else 0.0,
        "baseline_height": float(baseline.max() - baseline.min()),
        "baseline_tilt": float(baseline[-1] - baseline[0]),
        "noise_sd": noise, "spikes": spikes, "scale": scale, "carotenoid": pigment,
        "correlation_to_reference": _corr(template, signal),
    }
    return record, residual


def calibrate(folder: str | Path, files: tuple[str, ...] = VARIANTS) -> dict:
    """The calibration (a JSON-ready dict) from a RaMPP folder."""
    references, variants = load_rampp(folder, files)
    grid = axis()
    templates, signals = {}, {}
    for polymer, raw in references.items():
        signals[polymer] = signal_of(raw)[0]
        templates[polymer] = fit_bands(grid, signals[polymer])
    records, residuals = [], []
    for polymer, raw in variants:
        if polymer not in templates:
            continue
        template = pseudo_voigt(grid, templates[polymer])
        record, residual = nuisance_record(grid, template / template.max(), templates[polymer],
                                           raw)
        records.append({"polymer": polymer, **record})
        residuals.append(residual)
    stacked = np.array(residuals)
    centred = stacked - stacked.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:COMPONENTS]
    scores = centred @ components.T
    # what the kept components miss (a third of the residual's variance on RaMPP: particle-
    # specific contamination) is kept as its size per record and as the shapes and spreads of
    # the next components, from which the simulator draws a fresh mixture for every spectrum
    rest = centred - scores @ components
    extra = vt[COMPONENTS:COMPONENTS + EXTRA_COMPONENTS]
    extra_sd = (centred @ extra.T).std(axis=0)
    coarse = np.linspace(0, len(grid) - 1, RESIDUAL_POINTS)
    for record, score, left in zip(records, scores, rest, strict=True):
        record["residual_scores"] = [round(float(v), 5) for v in score]
        record["residual_rest_rms"] = float(np.sqrt(np.mean(left**2)))
    return {
        "attribution": ATTRIBUTION, "files": [REFERENCES, *files],
        "axis": {"start": AXIS[0], "stop": AXIS[1], "points": AXIS[2]},
        "templates": {p: [[round(float(v), 4) for v in band] for band in b]
                      for p, b in templates.items()},
        "template_fit_correlation": {p: round(_corr(pseudo_voigt(grid, templates[p]),
                                                    signals[p]), 4) for p in templates},
        "residual_mean": [round(float(v), 5) for v in
                          np.interp(coarse, np.arange(len(grid)), stacked.mean(axis=0))],
        "residual_components": [[round(float(v), 5) for v in
                                 np.interp(coarse, np.arange(len(grid)), c)]
                                for c in components],
        "residual_extra_components": [[round(float(v), 5) for v in
                                       np.interp(coarse, np.arange(len(grid)), c)]
                                      for c in extra],
        "residual_extra_sd": [round(float(v), 5) for v in extra_sd],
        "records": [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in r.items()}
                    for r in records],
    }


def write_calibration(folder: str | Path, out: str | Path = CALIBRATION_FILE) -> Path:
    from ..core.io_utils import write_text

    write_text(out, json.dumps(calibrate(folder), indent=1, sort_keys=True) + "\n")
    return Path(out)


def load_calibration(path: str | Path = CALIBRATION_FILE) -> dict:
    path = Path(path)
    if not path.is_file():
        raise DataError("the simulator calibration is missing", path=path,
                        fix="restore it from git, or run `gansemble calibrate RAMPP_FOLDER`")
    return json.loads(path.read_text(encoding="utf-8"))
