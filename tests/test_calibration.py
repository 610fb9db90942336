"""The simulator's calibration on RaMPP and the calibrated model it drives."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gansemble_lib import calibration as cal
from gansemble_lib.simulate import CALIBRATED, KNOWN_CLASSES, SimulationConfig, simulate
from tests.conftest import REPO

RAMPP = REPO.parent / "shared" / "data" / "rampp"
needs_rampp = pytest.mark.skipif(not RAMPP.is_dir(), reason=f"no RaMPP spectra at {RAMPP} "
                                 "(they are read in place, never copied into the project)")


def test_the_committed_calibration_is_attributed_and_holds_no_spectra():
    calibration = cal.load_calibration()
    assert "CC BY 4.0" in calibration["attribution"] and "Kumar" in calibration["attribution"]
    assert {"PA", "PE", "PET", "POM", "PP", "PS", "PU", "PVC"} <= set(calibration["templates"])
    assert min(calibration["template_fit_correlation"].values()) > 0.95
    assert len(calibration["records"]) == 118  # one nuisance record per environmental spectrum
    assert len(calibration["residual_components"]) == cal.COMPONENTS
    # derived numbers only: nothing as long as a spectrum's 1600 points
    assert max(len(c) for c in calibration["residual_components"]) == cal.RESIDUAL_POINTS < 1600


def test_the_calibrated_model_is_deterministic_and_scaled_like_rampp():
    config = SimulationConfig(model=CALIBRATED, class_counts={c: 3 for c in KNOWN_CLASSES})
    axis, x, labels = simulate(config)
    again = simulate(config)[1]
    np.testing.assert_array_equal(x, again)
    assert x.shape == (30, 1000) and np.allclose(x.min(1), 0) and np.allclose(x.max(1), 1)
    assert simulate(SimulationConfig(model=CALIBRATED, seed=1,
                                     class_counts={c: 3 for c in KNOWN_CLASSES}))[1].tolist() \
        != x.tolist()


def test_the_calibrated_model_is_the_default_and_old_datasets_read_as_literature():
    assert SimulationConfig().model == CALIBRATED
    written = SimulationConfig().to_dict()
    assert written["model"] == CALIBRATED and "noise_level" not in written  # keys it ignores
    old = SimulationConfig(model="literature").to_dict()
    del old["model"]  # a dataset.yaml written before the calibrated model existed
    assert SimulationConfig.from_dict(old).model == "literature"
    with pytest.raises(ValueError, match="calibrated model does not use.*noise_level"):
        SimulationConfig.from_dict({**written, "noise_level": 2.0})
    with pytest.raises(ValueError, match="model"):
        SimulationConfig(model="made-up")


def test_the_calibrated_model_keeps_the_real_nuisances_that_make_it_hard():
    """The polymer's strength in the measurement and the particle-specific residual beyond the
    kept components were missing once and left the default data at the ceiling."""
    calibration = cal.load_calibration()
    records = calibration["records"]
    assert min(r["scale"] for r in records) < 0.5 < max(r["scale"] for r in records)
    assert all(r["residual_rest_rms"] > 0 for r in records)
    assert len(calibration["residual_extra_components"]) == cal.EXTRA_COMPONENTS
    assert len(calibration["residual_extra_sd"]) == cal.EXTRA_COMPONENTS
    weak = {**calibration, "records": [{**records[0], "scale": 0.2}]}
    strong = {**calibration, "records": [{**records[0], "scale": 1.0}]}
    grid = cal.axis()
    template = cal.pseudo_voigt(grid, np.array(calibration["templates"][records[0]["polymer"]]))

    def mean_corr(calib):
        from gansemble_lib.simulate import _calibrated_spectrum, _stream

        rows = [_calibrated_spectrum(_stream(0, records[0]["polymer"], i), grid,
                                     records[0]["polymer"], calib) for i in range(10)]
        return np.mean([np.corrcoef(r, template)[0, 1] for r in rows])

    assert mean_corr(weak) < mean_corr(strong) - 0.1  # a weak polymer signal is harder to see


def test_fitted_bands_recover_a_known_spectrum():
    grid = cal.axis()
    truth = np.array([[1000.0, 1.0, 12.0, 0.6], [1600.0, 0.5, 20.0, 0.4],
                      [2900.0, 0.8, 25.0, 0.5]])
    bands = cal.fit_bands(grid, cal.pseudo_voigt(grid, truth))
    assert len(bands) == 3
    np.testing.assert_allclose(bands[:, 0], truth[:, 0], atol=2.0)
    np.testing.assert_allclose(bands[:, 1], truth[:, 1], atol=0.05)


@needs_rampp
def test_recalibrating_from_rampp_gives_the_committed_file(tmp_path):
    out = cal.write_calibration(RAMPP, tmp_path / "calibration.json")
    assert json.loads(out.read_text()) == cal.load_calibration()
