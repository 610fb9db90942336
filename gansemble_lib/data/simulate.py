"""Simulated Raman spectra of the GANsemble classes: the compendium's embedded default dataset.

The paper's spectra are not public, so the default input is simulated rather than copied. Two
models exist:

- ``calibrated`` (the default since the default dataset had to be as hard as real data): band
  templates and nuisances fitted to real environmental Raman spectra of microplastics (RaMPP;
  :mod:`gansemble_lib.data.calibration` and the committed ``simulator_calibration.json``). Each
  spectrum takes one real nuisance record of its polymer - shift, broadening, band-height
  scatter, the polymer's strength in the measurement, baseline, noise, spikes, carotenoid
  (biofilm pigment) bands and the residual (biofilm, fillers) - and perturbs it. Cellulosic and
  Silica, absent from RaMPP, keep the literature bands below with the nuisances of all records.
  Only the axis, seed and class counts apply; the literature nuisance settings do not.
- ``literature``: the first model, described next, kept for comparison and teaching.

In the literature model each class is a sum of pseudo-Voigt bands at literature Raman positions,
and every
nuisance a real microplastic measurement carries is added on top - band shifts (calibration,
crystallinity), width and relative-intensity scatter (orientation, morphology), a broad
fluorescence background, shot and read noise, and weathering (amorphisation broadens bands,
photo-oxidation grows a carbonyl band near 1715 cm^-1 and a hydroxyl band near 3400 cm^-1,
and degraded particles scatter less and fluoresce more).

Band positions and relative intensities are approximate (a few cm^-1; intensities depend on
excitation wavelength, grade and morphology) and were compiled from:
- G. Socrates, *Infrared and Raman Characteristic Group Frequencies: Tables and Charts*,
  3rd ed., Wiley, 2001 (group frequencies for all polymers);
- A. Käppler et al., "Analysis of environmental microplastics by vibrational microspectroscopy:
  FTIR, Raman or both?", Anal. Bioanal. Chem. 408 (2016) 8377 (reference polymer spectra);
- J. H. Wiley and R. H. Atalla, "Band assignments in the Raman spectra of celluloses",
  Carbohydr. Res. 160 (1987) 113 (cellulose I);
- K. J. Kingma and R. J. Hemley, "Raman spectroscopic study of microcrystalline silica",
  Am. Mineral. 79 (1994) 269 (quartz and amorphous silica);
and relative heights were sanity-checked against the RaMPP reference spectra (Kumar et al.,
Diversity 12 (2020) 147). PU is an aromatic (MDI-type) polyurethane; silica mixes an amorphous
network (broad main band, D1/D2 ring modes) with a random fraction of alpha-quartz.

Reproducibility: every spectrum draws from its own PCG64 stream keyed by (seed, class name,
index), so changing one class's count or the class order leaves all other spectra unchanged.
File bytes are fixed by Python's locale-independent float formatting; they are tied to the pinned
numpy version (numpy does not promise Generator streams across versions).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple

import numpy as np

from ..core.constants import PAPER_CLASS_COUNTS
from ..core.errors import DataError

LITERATURE, CALIBRATED = "literature", "calibrated"
MODELS = (LITERATURE, CALIBRATED)
class Band(NamedTuple):
    """One Raman band: centre (cm^-1), height relative to the class's strongest, FWHM (cm^-1)."""

    position: float
    height: float
    fwhm: float
    eta: float = 0.6  # Lorentzian fraction: condensed-phase bands are mostly Lorentzian
    phase: int = 0  # mixture component, for classes that are physical mixtures (silica)


@dataclass(frozen=True)
class _ClassSpec:
    bands: tuple[Band, ...]
    fluorescence: float = 1.0  # relative background: dyed fibres and yellowed PU glow more
    weathers: bool = True  # silica does not photo-oxidise


_B = Band
_CLASSES: dict[str, _ClassSpec] = {
    "Cellulosic": _ClassSpec((
        _B(380, 0.45, 14), _B(437, 0.25, 14), _B(458, 0.25, 14), _B(520, 0.2, 14),
        _B(900, 0.12, 14), _B(1095, 0.8, 14), _B(1120, 0.55, 14), _B(1338, 0.25, 16),
        _B(1380, 0.3, 16), _B(1475, 0.25, 18), _B(2895, 1.0, 26), _B(3340, 0.15, 160, 0.2),
    ), fluorescence=2.0),
    "POM": _ClassSpec((
        _B(539, 0.1, 10), _B(915, 1.0, 10), _B(1095, 0.15, 14), _B(1300, 0.12, 14),
        _B(1335, 0.2, 14), _B(1495, 0.35, 14), _B(2925, 0.55, 16), _B(2990, 0.6, 16),
    )),
    "PA": _ClassSpec((
        _B(931, 0.12, 14), _B(1064, 0.2, 14), _B(1128, 0.2, 14), _B(1300, 0.2, 14),
        _B(1440, 0.35, 16), _B(1636, 0.25, 20), _B(2870, 0.7, 18), _B(2900, 1.0, 22),
        _B(3300, 0.15, 60, 0.3),
    )),
    "PE": _ClassSpec((
        _B(1063, 0.12, 10), _B(1130, 0.14, 9), _B(1295, 0.18, 10), _B(1418, 0.08, 12),
        _B(1440, 0.17, 14), _B(1460, 0.1, 14), _B(2723, 0.05, 15), _B(2848, 0.75, 14),
        _B(2883, 1.0, 16),
    )),
    "PET": _ClassSpec((
        _B(632, 0.14, 10), _B(704, 0.06, 10), _B(857, 0.22, 10), _B(1096, 0.12, 12),
        _B(1118, 0.14, 12), _B(1180, 0.08, 10), _B(1291, 0.3, 14), _B(1615, 1.0, 12),
        _B(1726, 0.6, 16), _B(2970, 0.16, 18), _B(3080, 0.2, 14),
    )),
    "PP": _ClassSpec((
        _B(398, 0.15, 12), _B(809, 0.28, 10), _B(841, 0.18, 11), _B(973, 0.14, 12),
        _B(998, 0.1, 10), _B(1152, 0.16, 12), _B(1330, 0.16, 12), _B(1360, 0.08, 12),
        _B(1458, 0.26, 14), _B(2723, 0.08, 15), _B(2840, 0.4, 14), _B(2870, 0.55, 14),
        _B(2882, 0.9, 14), _B(2952, 0.6, 16),
    )),
    "PS": _ClassSpec((
        _B(621, 0.12, 8), _B(795, 0.1, 10), _B(1001, 1.0, 6), _B(1031, 0.3, 7),
        _B(1155, 0.1, 9), _B(1183, 0.15, 9), _B(1450, 0.08, 14), _B(1583, 0.1, 9),
        _B(1602, 0.3, 9), _B(2852, 0.1, 14), _B(2904, 0.2, 16), _B(3054, 0.5, 14),
    )),
    "PU": _ClassSpec((
        _B(866, 0.25, 12), _B(1184, 0.3, 14), _B(1255, 0.25, 16), _B(1310, 0.28, 16),
        _B(1440, 0.2, 18), _B(1530, 0.12, 20), _B(1615, 0.8, 12), _B(1730, 0.18, 20),
        _B(2870, 0.4, 22), _B(2930, 1.0, 24), _B(3330, 0.1, 60, 0.3),
    ), fluorescence=1.5),
    "PVC": _ClassSpec((
        _B(363, 0.12, 14), _B(637, 0.35, 14), _B(695, 0.25, 14), _B(1100, 0.06, 20),
        _B(1175, 0.05, 16), _B(1335, 0.1, 16), _B(1430, 0.18, 16), _B(2910, 1.0, 20),
        _B(2970, 0.3, 18),
    )),
    "Silica": _ClassSpec((
        _B(450, 1.0, 150, 0.1), _B(495, 0.35, 20, 0.3), _B(606, 0.25, 22, 0.3),
        _B(800, 0.2, 60, 0.1), _B(1060, 0.08, 50, 0.1), _B(1200, 0.05, 60, 0.1),
        _B(206, 0.3, 10, phase=1), _B(265, 0.1, 10, phase=1), _B(355, 0.12, 8, phase=1),
        _B(394, 0.1, 8, phase=1), _B(464, 1.0, 7, phase=1), _B(808, 0.05, 8, phase=1),
        _B(1082, 0.04, 8, phase=1), _B(1160, 0.03, 8, phase=1),
    ), fluorescence=0.5, weathers=False),
}  # fmt: skip

KNOWN_CLASSES: tuple[str, ...] = tuple(_CLASSES)


@dataclass(frozen=True, kw_only=True)
class SimulationConfig:
    """Everything that determines the simulated dataset; defaults give the paper's 210 spectra."""

    axis_start: float = 200.0  # cm^-1; covers the lattice/C-Cl region through O-H stretch
    axis_stop: float = 3400.0
    points: int = 1000
    seed: int = 0
    class_counts: Mapping[str, int] = field(default_factory=lambda: dict(PAPER_CLASS_COUNTS))
    shift_sd: float = 2.0  # per-band position scatter, cm^-1
    calibration_sd: float = 1.5  # whole-spectrum offset, cm^-1
    width_jitter: float = 0.15  # log-normal sd of band widths
    intensity_jitter: float = 0.15  # log-normal sd of relative band heights
    instrument_fwhm: float = 6.0  # spectrometer resolution, added in quadrature to band widths
    peak_counts: float = 2000.0  # detector counts at the strongest band: sets shot noise
    read_noise: float = 10.0  # detector read noise, counts
    noise_level: float = 1.0  # multiplies shot + read noise; 0 gives noiseless spectra
    baseline_strength: float = 0.8  # max fluorescence height relative to the strongest band
    weathering_max: float = 0.6  # degradation level is uniform on [0, weathering_max]
    # "calibrated" (default): band templates and nuisances fitted to real RaMPP spectra
    # (gansemble_lib/data/calibration.py; Cellulosic and Silica keep the literature bands with the
    # calibrated nuisances), the settings above from shift_sd on do not apply to it;
    # "literature": the band tables above with the nuisance settings above
    model: str = CALIBRATED

    def __post_init__(self) -> None:
        counts = MappingProxyType(_checked_counts(self.class_counts))
        object.__setattr__(self, "class_counts", counts)
        for key, f in self.__dataclass_fields__.items():
            if f.type in ("int", "float"):  # plain numbers keep the YAML dump plain
                object.__setattr__(self, key, _number(key, getattr(self, key), f.type))
        valid = {k: getattr(self, k) >= 0 for k in _NON_NEGATIVE} | {
            "points": self.points >= 2, "axis_stop": self.axis_stop > self.axis_start,
            "weathering_max": self.weathering_max <= 1.0, "peak_counts": self.peak_counts > 0,
        }  # fmt: skip
        valid["model"] = self.model in MODELS
        bad = [k for k, ok in valid.items() if not ok]
        if bad:
            value = getattr(self, bad[0])
            fix = "see SimulationConfig for the allowed range"
            raise DataError(f"invalid value {value!r}", where=bad[0], fix=fix)

    def to_dict(self) -> dict[str, Any]:
        """Plain types only; class order kept as a list of one-key maps (YAML keys get sorted).
        Only the keys the model uses: the calibrated model ignores the literature nuisances."""
        keys = CALIBRATED_KEYS if self.model == CALIBRATED else self.__dataclass_fields__
        out: dict[str, Any] = {k: getattr(self, k) for k in keys}
        out["class_counts"] = [{k: v} for k, v in self.class_counts.items()]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SimulationConfig:
        """Inverse of :meth:`to_dict`; also accepts class_counts as a mapping."""
        values = dict(data)
        counts = values.get("class_counts")
        if isinstance(counts, list):
            values["class_counts"] = {k: v for item in counts for k, v in dict(item).items()}
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise DataError(
                f"unknown simulation keys {sorted(unknown)}",
                fix=f"use only {sorted(cls.__dataclass_fields__)}",
            )
        # datasets written before the calibrated model existed name no model: literature
        values.setdefault("model", LITERATURE)
        if values["model"] == CALIBRATED and set(values) - set(CALIBRATED_KEYS):
            extra = sorted(set(values) - set(CALIBRATED_KEYS))
            raise DataError(f"the calibrated model does not use {extra}",
                            fix=f"give only {list(CALIBRATED_KEYS)}, or model: literature")
        return cls(**values)


CALIBRATED_KEYS = ("axis_start", "axis_stop", "points", "seed", "class_counts", "model")

_NON_NEGATIVE = (
    "shift_sd", "calibration_sd", "width_jitter", "intensity_jitter", "instrument_fwhm",
    "read_noise", "noise_level", "baseline_strength", "weathering_max",
)  # fmt: skip


def _checked_counts(counts: Mapping[str, int]) -> dict[str, int]:
    out = {}
    for name, n in dict(counts).items():
        if name not in _CLASSES:
            fix = f"use only {', '.join(KNOWN_CLASSES)}"
            raise DataError(f"unknown class {name!r}", where="class_counts", fix=fix)
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
            problem = f"count {n!r} for {name} is not a non-negative integer"
            raise DataError(problem, where="class_counts", fix="give whole numbers >= 0")
        out[name] = int(n)
    return out


def _number(key: str, value: Any, kind: str) -> int | float:
    is_int = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if kind == "int" and is_int:
        return int(value)
    if kind == "float" and (is_int or isinstance(value, float | np.floating)):
        return float(value)
    raise DataError(f"{value!r} is not a number of type {kind}", where=key, fix=f"give a {kind}")


def _pseudo_voigt(axis: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """Sum of unit-height pseudo-Voigt peaks; ``bands`` rows are (position, height, fwhm, eta)."""
    pos, height, fwhm, eta = (bands[:, i, None] for i in range(4))
    u = (axis[None, :] - pos) / fwhm
    lorentz = 1.0 / (1.0 + 4.0 * u**2)
    gauss = np.exp(-4.0 * np.log(2.0) * u**2)
    return (height * (eta * lorentz + (1.0 - eta) * gauss)).sum(axis=0)


def _one_spectrum(
    rng: np.random.Generator, axis: np.ndarray, spec: _ClassSpec, cfg: SimulationConfig
) -> np.ndarray:
    """One measurement: pristine bands, then weathering, fluorescence, detector noise."""
    table = np.array(spec.bands, dtype=float)
    n_bands = len(table)
    n_phases = int(table[:, 4].max()) + 1
    phase_weight = rng.dirichlet(np.ones(n_phases))[table[:, 4].astype(int)]
    degradation = rng.uniform(0.0, cfg.weathering_max) if spec.weathers else 0.0

    shift = rng.normal(0.0, cfg.calibration_sd) + rng.normal(0.0, cfg.shift_sd, n_bands)
    height = table[:, 1] * phase_weight * rng.lognormal(0.0, cfg.intensity_jitter, n_bands)
    # Weathering amorphises the surface layer: bands broaden (up to +60 % when fully degraded).
    width = table[:, 2] * rng.lognormal(0.0, cfg.width_jitter, n_bands) * (1 + 0.6 * degradation)
    width = np.hypot(width, cfg.instrument_fwhm)
    bands = np.column_stack([table[:, 0] + shift, height, width, table[:, 3]])
    signal = _pseudo_voigt(axis, bands)
    signal /= signal.max()

    # Oxidation products are scaled to the pristine strongest band, before the signal fades.
    oxidation = np.array([
        [1715 + rng.normal(0.0, 8.0), 0.4 * degradation, 40.0, 0.5],
        [3400 + rng.normal(0.0, 30.0), 0.25 * degradation, 250.0, 0.2],
    ])  # fmt: skip
    if spec.weathers:
        signal = signal * (1.0 - 0.4 * degradation) + _pseudo_voigt(axis, oxidation)

    # Fluorescence is a broad emission band whose tail crosses the window at a random place:
    # this gives rising, falling and curved backgrounds from one physical shape.
    span = cfg.axis_stop - cfg.axis_start
    centre = rng.uniform(cfg.axis_start - 0.5 * span, cfg.axis_stop + 0.5 * span)
    hump = np.exp(-0.5 * ((axis - centre) / (rng.uniform(0.3, 1.0) * span)) ** 2)
    amplitude = rng.uniform(0.0, cfg.baseline_strength) * spec.fluorescence * (1 + 2 * degradation)
    background = amplitude * hump / hump.max()

    counts = cfg.peak_counts * rng.lognormal(0.0, 0.3) * (signal + background)
    sd = cfg.noise_level * np.sqrt(counts + cfg.read_noise**2)
    noisy = counts + sd * rng.standard_normal(axis.size)
    # + 0.0 turns -0.0 into 0.0 so the text file never shows "-0.00000"
    return np.maximum(noisy, 0.0) / cfg.peak_counts + 0.0


def _calibrated_spectrum(rng: np.random.Generator, axis: np.ndarray, label: str,
                         calibration: dict) -> np.ndarray:
    """One measurement from the calibrated model: the polymer's fitted band template (the
    literature bands for classes RaMPP lacks), turned into an environmental spectrum by one
    real nuisance record of that polymer (any polymer's for the others), perturbed: shift and
    broadening, band-height scatter, carotenoid (biofilm pigment) bands, the remaining residual
    (biofilm, pigments, fillers) on the shared principal components, a fluorescence baseline of
    the record's height and tilt, noise and spikes.
    Scaled to 0..1 like the RaMPP files."""
    from scipy.ndimage import gaussian_filter1d

    from .calibration import carotenoid, pseudo_voigt

    if label in calibration["templates"]:
        bands = np.array(calibration["templates"][label], dtype=float)
    else:
        bands = np.array([b[:4] for b in _CLASSES[label].bands], dtype=float)
    own = [r for r in calibration["records"] if r["polymer"] == label]
    pool = own or calibration["records"]
    record = pool[rng.integers(len(pool))]
    step = float(np.mean(np.diff(axis)))
    moved = bands.copy()
    moved[:, 0] += record["shift_cm"] + rng.normal(0.0, 1.0)
    moved[:, 1] *= rng.lognormal(0.0, record["band_log_ratio_sd"], len(bands))
    signal = pseudo_voigt(axis, moved)
    signal /= signal.max()
    width = max(0.0, record["broadening_cm"] + rng.normal(0.0, 0.5))
    if width > 0:
        signal = gaussian_filter1d(signal, width / step)
    # the polymer's strength in that measurement (whose own Raman maximum is 1): weak where
    # biofilm, pigment or another material dominates the spot
    signal = record.get("scale", 1.0) * rng.uniform(0.9, 1.1) * signal
    cal_axis = np.linspace(calibration["axis"]["start"], calibration["axis"]["stop"],
                           len(calibration["residual_mean"]))
    residual = np.asarray(calibration["residual_mean"]) + rng.uniform(0.8, 1.2) * (
        np.asarray(record["residual_scores"]) @ np.asarray(calibration["residual_components"]))
    extra = np.asarray(calibration.get("residual_extra_components", []))
    if len(extra) and record.get("residual_rest_rms", 0.0) > 0:
        # the particle-specific rest: a fresh mixture of the further components, as large
        # as the record's own rest
        mixture = rng.normal(0.0, np.asarray(calibration["residual_extra_sd"])) @ extra
        rms = float(np.sqrt(np.mean(mixture**2)))
        if rms > 0:
            residual = residual + (record["residual_rest_rms"] * rng.uniform(0.8, 1.2) / rms
                                   * mixture)
    signal = signal + np.interp(axis, cal_axis, residual)
    # biofilm pigment: the record's carotenoid height, scattered widely (it varies most)
    signal = signal + record.get("carotenoid", 0.0) * rng.lognormal(0.0, 0.5) * carotenoid(axis)
    span = axis[-1] - axis[0]
    centre = rng.uniform(axis[0] - 0.5 * span, axis[-1] + 0.5 * span)
    hump = np.exp(-0.5 * ((axis - centre) / (rng.uniform(0.3, 1.0) * span)) ** 2)
    hump = (hump - hump.min()) / max(np.ptp(hump), 1e-12)
    ramp = np.linspace(0.0, 1.0, axis.size)
    baseline = (record["baseline_height"] * rng.uniform(0.8, 1.2) * hump
                + record["baseline_tilt"] * rng.uniform(0.8, 1.2) * ramp)
    noise = record["noise_sd"] * rng.uniform(0.8, 1.2) * rng.standard_normal(axis.size)
    spikes = np.zeros(axis.size)
    for where in rng.integers(0, axis.size, rng.poisson(max(record["spikes"], 0.2))):
        spikes[where] += rng.uniform(0.1, 0.6)
    y = signal + baseline + noise + spikes
    return (y - y.min()) / max(np.ptp(y), 1e-12) + 0.0


def _stream(seed: int, label: str, index: int) -> np.random.Generator:
    """Independent PCG64 stream per (class, spectrum); crc32 is stable across runs/platforms."""
    key = (zlib.crc32(label.encode("utf-8")), index)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def wavenumber_axis(config: SimulationConfig) -> np.ndarray:
    """The shared, evenly spaced Raman-shift axis (cm^-1)."""
    return np.linspace(config.axis_start, config.axis_stop, config.points)


def _draws(cfg: SimulationConfig, wanted: list[tuple[str, int]]) -> np.ndarray:
    """The spectra of (class, stream index) pairs, on the simulator's axis; the calibration is
    read once per call."""
    axis = wavenumber_axis(cfg)
    calibration = None
    if cfg.model == CALIBRATED:
        from .calibration import load_calibration

        calibration = load_calibration()
    rows = []
    for label, index in wanted:
        rng = _stream(cfg.seed, label, index)
        rows.append(_calibrated_spectrum(rng, axis, label, calibration) if calibration
                    else _one_spectrum(rng, axis, _CLASSES[label], cfg))
    return np.vstack(rows) if rows else np.empty((0, axis.size))


def simulate(config: SimulationConfig | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Simulate: axis (M,), intensities (N, M) relative to each strongest band, labels (N)."""
    cfg = config or SimulationConfig()
    wanted = [(label, i) for label, count in cfg.class_counts.items() for i in range(count)]
    return wavenumber_axis(cfg), _draws(cfg, wanted), [label for label, _ in wanted]


FRESH_START = 1_000_000  # first stream index of fresh draws: far beyond any dataset's count


def fresh_spectra(config: SimulationConfig, labels: list[str] | tuple[str, ...], n: int, *,
                  first: int = FRESH_START) -> np.ndarray:
    """``n`` more spectra of each of ``labels`` (class by class) from the same simulator, on its
    axis: stream indices ``first`` .. ``first + n - 1``, which no dataset with fewer than
    ``first`` spectra per class uses, so none of them is a spectrum of the dataset (the oracle
    rows of stage 06)."""
    unknown = [label for label in labels if label not in _CLASSES]
    if unknown:
        raise DataError(f"unknown class {unknown[0]!r}",
                        fix=f"use only {', '.join(KNOWN_CLASSES)}")
    if max(config.class_counts.values(), default=0) > first:
        raise DataError(f"the dataset has more than {first} spectra of a class",
                        fix="draw fresh spectra from a later first index")
    return _draws(config, [(label, first + i) for label in labels for i in range(n)])


