"""The simulator's calibration on RaMPP and the calibrated model it drives."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from gansemble_lib.data import calibration as cal
from gansemble_lib.data.simulate import CALIBRATED, KNOWN_CLASSES, SimulationConfig, simulate
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
        from gansemble_lib.data.simulate import _calibrated_spectrum, _stream

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


def _leaves(value, path=""):
    """Every number (or string) of a JSON tree, keyed by its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, value


def _decimals(path: str) -> int:
    """How many decimals calibrate() keeps for the number at ``path``."""
    return 4 if path.startswith(("/templates", "/template_fit_correlation")) else 5


def _family(path: str) -> str:
    """The quantity a number belongs to, without its position (``/records[]/scale``)."""
    return re.sub(r"\[\d+\]", "[]", path)


def _disagreements(new: dict, committed: dict, references: dict) -> list[str]:
    """Where a recalibration differs from the committed calibration by more than another CPU's
    floating-point path can explain (see the test below for the reasoning)."""
    if set(new["templates"]) != set(committed["templates"]):
        return ["templates: other polymers"]
    grid, bad = cal.axis(), []
    for polymer, bands in committed["templates"].items():
        before = cal.pseudo_voigt(grid, np.array(bands))
        after = cal.pseudo_voigt(grid, np.array(new["templates"][polymer]))
        misfit = np.sqrt(np.mean((before - cal.signal_of(references[polymer])[0]) ** 2))
        if np.abs(after - before).max() > 0.05 * misfit:
            bad.append(f"/templates/{polymer}")
    old_leaves = dict(_leaves({k: v for k, v in committed.items() if k != "templates"}))
    new_leaves = dict(_leaves({k: v for k, v in new.items() if k != "templates"}))
    if old_leaves.keys() != new_leaves.keys():
        return [*bad, "layout: other keys or lengths"]
    families: dict[str, list[float]] = {}
    for path, value in old_leaves.items():
        if isinstance(value, float):
            families.setdefault(_family(path), []).append(value)
    spread = {name: float(np.sqrt(np.mean(np.square(v)))) for name, v in families.items()}
    for path, value in old_leaves.items():
        if isinstance(value, float):
            allowed = 0.01 * spread[_family(path)] + 10.0 ** -_decimals(path) + 1e-12
            if abs(new_leaves[path] - value) > allowed:
                bad.append(path)
        elif new_leaves[path] != value:
            bad.append(path)
    return bad


@needs_rampp
def test_recalibrating_from_rampp_gives_the_committed_file(tmp_path):
    """The calibration is a numerical fit, so "the same" means: the same within what another
    CPU's floating-point summation order can move, and no more.

    - Band templates are non-linear least-squares fits of overlapping pseudo-Voigt bands. Their
      parameters are not unique: along near-flat directions (two overlapping bands trading
      width for height) another CPU's rounding moves a width by tenths of a cm^-1 (seen: 0.22
      for a PET band) while the *curve* does not change. So the curves are compared: each
      recalibrated template may differ from the committed one by at most 5 % of the fit's own
      rms misfit to the reference spectrum (seen on a second machine: at most 1.2 %).
    - Everything else (nuisance records, residual mean, principal components and spreads)
      is computed from the residuals of those fits, through projections and an SVD whose
      trailing components have close singular values. Measured: another summation order
      (OpenBLAS with two threads and AVX-512 instead of one thread and AVX2) moves scores by
      up to 4 and trailing components by up to 5 units of the 5th decimal, i.e. up to 0.07 %
      of the quantity's spread. Each number may therefore move by 1 % of the rms of its
      quantity (all records' scales, all components' values...) plus one unit of its last
      stored place: ten times what was seen, and far below what matters to the simulator,
      which scatters every nuisance it draws by 10-20 %.
    - Counts, names and the layout must be equal.
    """
    out = cal.write_calibration(RAMPP, tmp_path / "calibration.json")
    references, _ = cal.load_rampp(RAMPP)
    assert _disagreements(json.loads(out.read_text()), cal.load_calibration(), references) == []


@needs_rampp
def test_a_changed_calibration_is_caught_by_the_recalibration_tolerances():
    """Positive control: a real change (one PET band 1 cm^-1 off; one record's polymer scale
    5 % of the scales' spread higher) falls outside the tolerances, and nothing else does."""
    committed = cal.load_calibration()
    references, _ = cal.load_rampp(RAMPP)
    changed = json.loads(json.dumps(committed))
    pet = np.array(changed["templates"]["PET"])
    changed["templates"]["PET"][int(np.argmax(pet[:, 1]))][0] += 1.0
    scales = [r["scale"] for r in committed["records"]]
    step = float(np.sqrt(np.mean(np.square(scales))))
    changed["records"][0]["scale"] = committed["records"][0]["scale"] + 0.05 * step
    assert _disagreements(changed, committed, references) == ["/templates/PET",
                                                              "/records[0]/scale"]
    changed["records"][0]["scale"] = committed["records"][0]["scale"] + 0.002 * step  # noise
    assert _disagreements(changed, committed, references) == ["/templates/PET"]
