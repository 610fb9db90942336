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


def test_the_default_dataset_keeps_its_bytes_and_an_unknown_model_is_refused():
    assert "model" not in SimulationConfig().to_dict()  # the literature default, as before
    assert SimulationConfig(model=CALIBRATED).to_dict()["model"] == CALIBRATED
    with pytest.raises(ValueError, match="model"):
        SimulationConfig(model="made-up")


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
