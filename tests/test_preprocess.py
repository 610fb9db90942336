"""Preprocessing: common axis, resampling, baseline removal and normalisation invariants."""

from __future__ import annotations

import numpy as np
import pytest

from gansemble_lib.core.errors import DataError
from gansemble_lib.core.records import Spectrum
from gansemble_lib.data.preprocess import (
    BASELINES,
    NORMALISATIONS,
    common_axis,
    normalise,
    preprocess,
    remove_baseline,
    resample,
)


def spectrum(lo: float, hi: float, n: int = 200, source: str = "s", fn=np.sin) -> Spectrum:
    axis = np.linspace(lo, hi, n)
    return Spectrum("PS", axis, fn(axis / 100.0), source)


def peaked(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * ((x - 500.0) / 15.0) ** 2)


# ----------------------------------------------------------------------------- axis


def test_common_axis_defaults_to_overlap():
    axis = common_axis([spectrum(0, 1000, source="a"), spectrum(100, 900, source="b")],
                       points=81)
    assert axis[0] == 100 and axis[-1] == 900 and axis.size == 81
    assert np.allclose(np.diff(axis), 10.0)


def test_common_axis_errors_name_the_limiting_spectra():
    with pytest.raises(DataError, match=r"no wavenumber range: b starts at 600 but a ends"):
        common_axis([spectrum(0, 500, source="a"), spectrum(600, 900, source="b")])
    with pytest.raises(DataError, match=r"outside the range every spectrum covers") as info:
        common_axis([spectrum(0, 500)], start=-10, stop=400)
    assert "start >= 0" in info.value.fix
    with pytest.raises(DataError, match="not below stop"):
        common_axis([spectrum(0, 500)], start=300, stop=200)
    with pytest.raises(DataError, match="no spectra"):
        common_axis([])


def test_resample_is_exact_for_linear_functions():
    def line(x: np.ndarray) -> np.ndarray:
        return 3.0 * x - 7.0

    uneven = np.sort(np.random.default_rng(1).uniform(0, 100, 50))
    coarse = np.linspace(-5, 120, 7)
    spectra = [Spectrum("A", uneven, line(uneven), "r"), Spectrum("B", coarse, line(coarse), "q")]
    axis = common_axis(spectra, points=301)
    X = resample(spectra, axis)
    assert X.shape == (2, 301)
    np.testing.assert_allclose(X, np.vstack([line(axis)] * 2), atol=1e-10)


def test_resample_refuses_extrapolation():
    with pytest.raises(DataError, match="outside the spectrum's range"):
        resample([spectrum(0, 100, source="short")], np.linspace(0, 200, 5))


# ----------------------------------------------------------------------------- baseline


@pytest.mark.parametrize("background", [lambda x: 0.5 + 0.001 * x,
                                        lambda x: 0.2 + 2e-6 * (x - 300.0) ** 2])
def test_als_removes_smooth_baseline_under_a_peak(background):
    x = np.linspace(0, 1000, 1000)
    X = (peaked(x) + background(x))[None, :]
    corrected = remove_baseline(X, "als")[0]  # the defaults: lam 1e5, p 0.01
    residual = corrected - peaked(x)
    # The background is 0.2..1.5 high; what is left is a few % of the unit peak, at its top
    # (a stiff but finite lam lets the baseline bulge slightly under the peak).
    assert np.max(np.abs(residual)) < 0.08
    assert np.sqrt(np.mean(residual**2)) < 0.02
    assert abs(corrected.max() - 1.0) < 0.08


def test_rolling_min_flattens_a_sloped_background():
    x = np.linspace(0, 1000, 1000)
    X = (peaked(x) + 0.5 + 0.001 * x)[None, :]
    corrected = remove_baseline(X, "rolling_min", window=101)[0]
    far = np.abs(x - 500) > 150
    assert np.max(np.abs(corrected[far])) < 0.1
    assert corrected.max() > 0.8


def test_baseline_settings_are_checked():
    X = np.ones((1, 20))
    assert np.array_equal(remove_baseline(X, "none", lam=1e5), X)  # other methods' settings ok
    with pytest.raises(DataError, match="lamda") as info:
        remove_baseline(X, "als", lamda=1e5)
    assert "lam" in info.value.fix
    with pytest.raises(DataError, match="0 < p < 1"):
        remove_baseline(X, "als", p=1.5)
    with pytest.raises(DataError, match="window >= 3"):
        remove_baseline(X, "rolling_min", window=1)


# ----------------------------------------------------------------------------- normalise


@pytest.fixture
def rows() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(6, 40)) * 5 + 2


def test_minmax(rows):
    Y = normalise(rows, "minmax")
    assert Y.min() >= 0 and Y.max() <= 1
    np.testing.assert_allclose(Y.max(axis=1), 1.0)
    np.testing.assert_allclose(Y.min(axis=1), 0.0)


def test_l2_and_area(rows):
    np.testing.assert_allclose(np.linalg.norm(normalise(rows, "l2"), axis=1), 1.0)
    np.testing.assert_allclose(np.abs(normalise(rows, "area")).sum(axis=1), 1.0)
    np.testing.assert_array_equal(normalise(rows, "none"), rows)


@pytest.mark.parametrize("method", NORMALISATIONS)
def test_zero_range_row_gives_zeros_not_nan(method, rows):
    X = np.vstack([rows[:2], np.zeros(40), np.full(40, 3.0)])
    Y = normalise(X, method)
    assert np.isfinite(Y).all()
    if method in ("minmax", "l2", "area"):
        assert np.all(Y[2] == 0)
    if method == "minmax":
        assert np.all(Y[3] == 0)


def test_normalise_does_not_modify_input(rows):
    before = rows.copy()
    normalise(rows, "minmax")
    remove_baseline(rows, "als")
    np.testing.assert_array_equal(rows, before)


# ----------------------------------------------------------------------------- pipeline


def test_preprocess_pipeline_is_deterministic():
    spectra = [spectrum(0, 1000, source="a", fn=lambda x: np.cos(x) + x),
               spectrum(50, 950, 333, source="b")]
    axis, X = preprocess(spectra, points=128, baseline="als", normalisation="minmax",
                         lam=1e4, p=0.02)
    axis2, X2 = preprocess(spectra, points=128, baseline="als", normalisation="minmax",
                           lam=1e4, p=0.02)
    assert axis[0] == 50 and axis[-1] == 950 and X.shape == (2, 128)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(axis, axis2)
    np.testing.assert_allclose(X.max(axis=1), 1.0)


@pytest.mark.parametrize(("kwargs", "listed"), [({"baseline": "poly"}, BASELINES),
                                                ({"normalisation": "max"}, NORMALISATIONS)])
def test_unknown_methods_list_allowed_values(kwargs, listed):
    with pytest.raises(DataError) as info:
        preprocess([spectrum(0, 10)], **kwargs)
    assert all(name in info.value.fix for name in listed)
