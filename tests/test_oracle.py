"""What only a simulator can do: fresh spectra, oracle rows, the learning curve and worth."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gansemble_lib.core.config import PrepareParams
from gansemble_lib.core.errors import DataError
from gansemble_lib.data.dataset import load_prepared
from gansemble_lib.data.import_data import import_data
from gansemble_lib.data.prepare import prepare
from gansemble_lib.data.simulate import FRESH_START, SimulationConfig, fresh_spectra, simulate
from gansemble_lib.data.simulated_raw import write_dataset
from gansemble_lib.evaluation import oracle, rows, worth
from gansemble_lib.evaluation.downstream import training_data

SMALL = {"PE": 6, "PS": 5, "Silica": 4}
FAST = {"image_size": 32, "axis_points": 200, "baseline": "rolling_min"}


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    root = tmp_path_factory.mktemp("oracle")
    raw = write_dataset(root / "raw", SimulationConfig(class_counts=SMALL, points=400))
    prepare(raw, root / "prepared", PrepareParams(**FAST))
    return load_prepared(root / "prepared")


def test_an_oracle_row_carries_its_curve_and_k():
    record = worth.record(worth.BEST_BASELINE, 10)
    assert record.name == worth.row_name(worth.BEST_BASELINE, 10)
    assert (record.kind, record.curve, record.k) == (rows.ORACLE, worth.BEST_BASELINE, 10)
    assert record.generator is None  # more real data, not a generator's samples


def test_fresh_spectra_come_from_the_same_process_but_not_the_dataset():
    config = SimulationConfig(class_counts={"PE": 3}, points=300)
    _, dataset, _ = simulate(config)
    # the same streams give the dataset's own spectra: the process is the same one ...
    none_yet = SimulationConfig(class_counts={"PE": 0}, points=300)
    np.testing.assert_array_equal(fresh_spectra(none_yet, ["PE"], 3, first=0), dataset)
    with pytest.raises(DataError, match="more than 0 spectra"):  # ... but never overlaps it
        fresh_spectra(config, ["PE"], 3, first=0)
    # ... and the oracle's streams start far beyond it: none of its spectra is the dataset's
    fresh = fresh_spectra(config, ["PE"], 4)
    assert fresh.shape == (4, 300)
    assert min(np.abs(f - d).max() for f in fresh for d in dataset) > 1e-3
    with pytest.raises(DataError, match="unknown class 'PLA'"):
        fresh_spectra(config, ["PE", "PLA"], 1)


def test_fresh_set_is_prepared_like_the_data_nested_and_unseen(simulated):
    fresh = oracle.fresh_set(simulated, 4, first=FRESH_START)
    assert fresh.images.shape == (12, *simulated.images.shape[1:])
    assert fresh.images.dtype == simulated.images.dtype
    assert fresh.spectra.shape == (12, simulated.spectra.shape[1])
    assert fresh.labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4
    images, labels = fresh.take(2)
    assert labels.tolist() == [0, 0, 1, 1, 2, 2]
    np.testing.assert_array_equal(images, fresh.images[[0, 1, 4, 5, 8, 9]])  # nested sets
    with pytest.raises(ValueError, match="drew 4"):
        fresh.take(5)
    oracle.check_unseen(fresh.spectra, simulated.spectra, what="the dataset")
    with pytest.raises(RuntimeError, match="repeat spectra of the dataset"):
        oracle.check_unseen(simulated.spectra[:2], simulated.spectra, what="the dataset")
    test = oracle.fresh_set(simulated, 2, first=oracle.TEST_START)
    oracle.check_unseen(test.spectra, np.vstack([simulated.spectra, fresh.spectra]),
                        what="the dataset or the oracle's training spectra")


def test_real_data_have_no_oracle(tmp_path, simulated):
    source = tmp_path / "mine.csv"
    axis = np.linspace(400, 1800, 50)
    rows = {f"{c} {i}": np.exp(-((axis - 600 - 300 * k) / 30) ** 2) + 0.01 * i
            for k, c in enumerate(("PE", "PS")) for i in range(5)}
    pd.DataFrame({"wavenumber": axis, **rows}).to_csv(source, index=False)
    import_data([source], fmt="wide_wavenumber", raw_dir=tmp_path / "raw", record=False)
    prepare(tmp_path / "raw", tmp_path / "prepared", PrepareParams(**FAST))
    data = load_prepared(tmp_path / "prepared")
    assert "simulation" not in data.info and oracle.simulation_of(data.info) is None
    with pytest.raises(DataError, match="more real data cannot be drawn"):
        oracle.fresh_set(data, 2, first=FRESH_START)
    assert oracle.simulation_of(simulated.info) == SimulationConfig(class_counts=SMALL,
                                                                    points=400)


def test_rows_add_fresh_spectra_to_each_curve(simulated):
    fresh = oracle.fresh_set(simulated, 3, first=FRESH_START)
    generated = (np.zeros((2, *simulated.images.shape[1:]), np.uint8), np.array([0, 1]))
    made = oracle.rows(fresh, (1, 3), chosen={"strategy": 7, "n": 8},
                       generator_set=generated)
    names = [r.name for r in made]
    assert worth.row_name(rows.REAL_ONLY, 0) not in names  # that one is real-only itself
    assert all(r.info.name == r.name and r.info.kind == rows.ORACLE for r in made)
    assert {(r.info.curve, r.info.k) for r in made} == {
        (rows.REAL_ONLY, 1), (rows.REAL_ONLY, 3), *((curve, k) for k in (0, 1, 3) for
                                                        curve in (worth.BEST_BASELINE,
                                                                  worth.BEST_GENERATOR))}
    by_name = dict(zip(names, made, strict=True))
    generator_3 = by_name[worth.row_name(worth.BEST_GENERATOR, 3)]
    assert len(generator_3.extra_labels) == 2 + 9
    baseline = by_name[worth.row_name(worth.BEST_BASELINE, 1)]
    assert baseline.augment_strategy == 7 and len(baseline.extra_labels) == 3
    train_x = simulated.images[:4]
    train_y = np.array([0, 0, 1, 2])
    x, y = training_data(by_name[worth.row_name(rows.REAL_ONLY, 1)], train_x, train_y, seed=0)
    assert len(y) == 4 + 3 and (x[:4] == train_x).all()
    without = oracle.rows(fresh, (1,), chosen={"strategy": 0, "n": 8}, generator_set=None)
    assert not any(worth.BEST_GENERATOR in r.name for r in without)


def _gate(path, status, validity):
    path.write_text(json.dumps({"gate": {"status": status, "validity": validity}}))


def test_best_generator_is_the_most_valid_that_passed(tmp_path):
    _gate(tmp_path / "03_mpcgan_aug.json", "did not learn its classes", 0.99)
    _gate(tmp_path / "03_spectrum.json", "passed", 0.9)
    _gate(tmp_path / "03b_vae.json", "passed", 0.95)
    _gate(tmp_path / "03_modern_aug.json", "passed", 1.0)  # an old file of another run
    best, why = oracle.best_generator(tmp_path, ["mpcgan_aug", "spectrum", "vae"])
    assert best == "vae" and "0.950" in why and "spectrum, vae" in why
    _gate(tmp_path / "03b_vae.json", "collapsed within classes", 0.95)
    _gate(tmp_path / "03_spectrum.json", "collapsed within classes", 0.9)
    assert oracle.best_generator(tmp_path, ["mpcgan_aug", "spectrum", "vae"])[0] is None


def _curve(levels):
    return pd.DataFrame({"curve": rows.REAL_ONLY, "k": [0, 5, 10, 20],
                         "macro_f1_mean": levels})


def test_worth_reads_the_real_only_curve_backwards():
    curve = _curve([0.80, 0.85, 0.90, 0.90])
    assert worth.worth(0.875, curve) == pytest.approx(7.5)
    assert worth.worth(0.80, curve) == 0.0
    assert worth.worth(0.90, curve) == 10.0
    assert worth.worth(0.79, curve) == float("-inf")
    assert worth.worth(0.95, curve) == float("inf")
    # a dip is read on the isotonic fit: 0.86 and 0.83 pool to 0.845 at k = 5 and 10
    assert worth.worth(0.84, _curve([0.80, 0.86, 0.83, 0.92])) == pytest.approx(
        5 * 0.04 / 0.045)
    assert worth.worth_text(float("-inf"), 20) == "below real-only"
    assert worth.worth_text(float("inf"), 20) == "more than +20"
    assert worth.worth_text(7.5, 20) == "+7.5"


def test_learning_curve_and_simulated_test_table():
    scores = pd.DataFrame([
        {"fold": f, "row": row, "macro_f1": value + 0.01 * i}
        for i, f in enumerate(("a", "b"))
        for row, value in (("real only", 0.8), (worth.row_name(rows.REAL_ONLY, 5), 0.85),
                           (worth.row_name(worth.BEST_BASELINE, 0), 0.82),
                           (worth.row_name(worth.BEST_BASELINE, 5), 0.86))])
    curve = worth.learning_curve(scores, ks=(5,))
    assert curve[["curve", "k"]].values.tolist() == [
        ["real only", 0], ["real only", 5], ["best baseline", 0], ["best baseline", 5]]
    assert curve["macro_f1_mean"].tolist() == pytest.approx([0.805, 0.855, 0.825, 0.865])
    table = oracle.simulated_test_table([
        {"row": "real only", "seed": 0, "macro_f1": 0.7},
        {"row": "real only", "seed": 1, "macro_f1": 0.8},
        {"row": "vae (no filter)", "seed": 0, "macro_f1": 0.75},
        {"row": "vae (no filter)", "seed": 1, "macro_f1": 0.8}])
    assert table.loc["vae (no filter)", "diff"] == pytest.approx(0.025)
    assert table.loc["real only", "macro_f1"] == pytest.approx(0.75)
    assert oracle.simulated_test_table([]).empty
