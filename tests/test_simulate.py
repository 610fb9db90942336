"""The simulated default dataset: paper counts, known band answers, determinism, atomic writes."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest
import yaml

from gansemble_lib.core.errors import DataError
from gansemble_lib.data.simulate import PAPER_CLASS_COUNTS, SimulationConfig, simulate
from gansemble_lib.data.simulated_raw import write_dataset

# The literature model with pure band shapes, so "strongest band" questions are about the
# chemistry, not the nuisances (the calibrated default is tested in test_calibration.py).
LITERATURE = dict(model="literature")
CLEAN = dict(LITERATURE, noise_level=0.0, baseline_strength=0.0, weathering_max=0.0)


def _class_rows(x: np.ndarray, labels: list[str], name: str) -> np.ndarray:
    return x[np.array(labels) == name]


def test_paper_counts_and_order() -> None:
    assert list(PAPER_CLASS_COUNTS.items()) == [
        ("Cellulosic", 19), ("POM", 5), ("PA", 19), ("PE", 26), ("PET", 16),
        ("PP", 20), ("PS", 17), ("PU", 27), ("PVC", 23), ("Silica", 38),
    ]  # fmt: skip
    axis, x, labels = simulate(SimulationConfig())
    assert axis.shape == (1000,) and axis[0] == 200.0 and axis[-1] == 3400.0
    assert x.shape == (210, 1000)
    assert {c: labels.count(c) for c in PAPER_CLASS_COUNTS} == PAPER_CLASS_COUNTS
    assert list(dict.fromkeys(labels)) == list(PAPER_CLASS_COUNTS)


def test_values_finite_and_non_negative() -> None:
    _, x, _ = simulate(SimulationConfig(seed=3, weathering_max=1.0, noise_level=3.0,
                                         **LITERATURE))
    assert np.isfinite(x).all()
    assert (x >= 0).all()
    assert not np.signbit(x).any()  # no -0.0, which would print as "-0.00000"


def test_same_seed_same_arrays_other_seed_differs() -> None:
    a1, x1, l1 = simulate(SimulationConfig(seed=7))
    a2, x2, l2 = simulate(SimulationConfig(seed=7))
    _, x3, _ = simulate(SimulationConfig(seed=8))
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(x1, x2)
    assert l1 == l2
    assert not np.allclose(x1, x3)


def test_changing_one_count_leaves_other_classes_unchanged() -> None:
    base = dict(PAPER_CLASS_COUNTS)
    _, x1, l1 = simulate(SimulationConfig(class_counts=base))
    _, x2, l2 = simulate(SimulationConfig(class_counts={**base, "POM": 11, "PE": 3}))
    for name in ("Cellulosic", "PS", "Silica"):
        np.testing.assert_array_equal(_class_rows(x1, l1, name), _class_rows(x2, l2, name))
    # Growing a class appends spectra: the first five POM spectra are the same ones.
    np.testing.assert_array_equal(_class_rows(x1, l1, "POM"), _class_rows(x2, l2, "POM")[:5])
    reordered = dict(reversed(list(base.items())))
    _, x3, l3 = simulate(SimulationConfig(class_counts=reordered))
    np.testing.assert_array_equal(_class_rows(x1, l1, "PVC"), _class_rows(x3, l3, "PVC"))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_known_answers_strongest_bands(seed: int) -> None:
    counts = {"PS": 17, "PE": 26, "Silica": 38}
    axis, x, labels = simulate(SimulationConfig(seed=seed, class_counts=counts, **CLEAN))

    def strongest(name: str) -> tuple[float, np.ndarray]:
        rows = _class_rows(x, labels, name)
        return axis[rows.mean(axis=0).argmax()], axis[rows.argmax(axis=1)]

    # The class mean must sit on the literature band; single spectra may stray by their random
    # shift, and an occasional PS spectrum has its 3054 aromatic C-H band on top.
    ps_mean, ps_each = strongest("PS")
    assert abs(ps_mean - 1001) <= 5  # ring breathing mode
    assert np.mean(np.abs(ps_each - 1001) <= 10) >= 0.8
    pe_mean, pe_each = strongest("PE")
    assert 2840 <= pe_mean <= 2890  # CH2 stretches
    assert np.all((pe_each >= 2835) & (pe_each <= 2895))
    silica_mean, _ = strongest("Silica")
    assert 420 <= silica_mean <= 520  # Si-O-Si bending region (quartz 464, glass ~450)


def test_weathering_grows_carbonyl_band() -> None:
    counts = {"PE": 20}
    axis, fresh, _ = simulate(SimulationConfig(class_counts=counts, **CLEAN))
    weathered = {**CLEAN, "weathering_max": 1.0}
    _, aged, _ = simulate(SimulationConfig(class_counts=counts, **weathered))
    carbonyl = (axis > 1690) & (axis < 1740)
    assert fresh[:, carbonyl].max() < 0.01  # PE has no band there
    assert aged[:, carbonyl].max(axis=1).mean() > 0.1


def test_bad_config_is_a_data_error() -> None:
    with pytest.raises(DataError, match="unknown class 'PLA'.*Fix: use only"):
        SimulationConfig(class_counts={"PLA": 3})
    with pytest.raises(DataError, match="class_counts.*non-negative integer"):
        SimulationConfig(class_counts={"PE": -1})
    with pytest.raises(DataError, match="noise_level"):
        SimulationConfig(noise_level=-1.0)
    with pytest.raises(DataError, match="points.*not a number of type int"):
        SimulationConfig(points=10.5)


def _sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_write_is_byte_identical_and_readable(tmp_path) -> None:
    cfg = SimulationConfig(seed=5, class_counts={"PS": 3, "POM": 2}, points=50)
    out1 = write_dataset(tmp_path / "a", cfg)
    out2 = write_dataset(tmp_path / "b", cfg)
    for name in ("spectra.csv", "dataset.yaml"):
        assert _sha256(out1 / name) == _sha256(out2 / name)
    raw = (out1 / "spectra.csv").read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    lines = raw.decode("ascii").splitlines()
    assert lines[0] == "wavenumber,PS V1,PS V2,PS V3,POM V1,POM V2"
    assert lines[1].startswith("200.000,") and len(lines) == 51
    assert all(len(v.split(".")[1]) == 5 for v in lines[1].split(",")[1:])
    axis, x, _ = simulate(cfg)
    table = np.loadtxt(out1 / "spectra.csv", delimiter=",", skiprows=1)
    np.testing.assert_allclose(table[:, 1:].T, x, atol=5e-6)

    meta = yaml.safe_load((out1 / "dataset.yaml").read_text())
    assert meta["modality"] == "spectra" and meta["format"] == "wide_wavenumber"
    assert meta["files"] == ["spectra.csv"] and meta["origin"] == "simulated"
    assert SimulationConfig.from_dict(meta["simulation"]) == cfg
    assert meta["simulation"]["model"] == "calibrated" and "noise_level" not in meta["simulation"]
    literature = dataclasses.replace(cfg, **LITERATURE)
    meta = yaml.safe_load((write_dataset(tmp_path / "lit", literature) / "dataset.yaml")
                          .read_text())
    assert SimulationConfig.from_dict(meta["simulation"]) == literature

    other = write_dataset(tmp_path / "c", dataclasses.replace(cfg, seed=6))
    assert _sha256(other / "spectra.csv") != _sha256(out1 / "spectra.csv")


def test_atomic_write_replaces_own_refuses_foreign(tmp_path) -> None:
    small = SimulationConfig(class_counts={"PE": 2}, points=20)
    out = tmp_path / "raw"
    write_dataset(out, small)
    write_dataset(out, SimulationConfig(class_counts={"PE": 3}, points=20))  # ours: replaced
    header = (out / "spectra.csv").read_text().splitlines()[0]
    assert header == "wavenumber,PE V1,PE V2,PE V3"

    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DataError, match="not a simulated dataset.*overwrite=True"):
        write_dataset(foreign, small)
    assert (foreign / "notes.txt").read_text() == "keep me"
    write_dataset(foreign, small, overwrite=True)
    assert sorted(p.name for p in foreign.iterdir()) == ["dataset.yaml", "spectra.csv"]

    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "raw"]  # no temp dirs left


def test_interrupted_write_leaves_old_dataset(tmp_path, monkeypatch) -> None:
    import gansemble_lib.data.simulated_raw as raw

    out = write_dataset(tmp_path / "raw", SimulationConfig(class_counts={"PS": 1}, points=20))
    before = _sha256(out / "spectra.csv")

    def crash(_cfg):
        raise KeyboardInterrupt

    monkeypatch.setattr(raw, "_meta_bytes", crash)
    with pytest.raises(KeyboardInterrupt):
        write_dataset(out, SimulationConfig(class_counts={"PS": 4}, points=20))
    assert _sha256(out / "spectra.csv") == before
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]


_DIGESTS = """
import hashlib
from gansemble_lib.data.simulate import SimulationConfig, simulate
from gansemble_lib.data.simulated_raw import _csv_bytes, column_names
cfg = SimulationConfig()
axis, x, _ = simulate(cfg)
print(hashlib.sha256(x.tobytes()).hexdigest(), hashlib.sha256(_csv_bytes(axis, x,
      column_names(cfg))).hexdigest())
"""
# Stand-ins for another CPU: OpenBLAS kernels of an older core (its sums run in another order)
# and NumPy without its AVX-512 loops.
OTHER_PATHS = {"OpenBLAS Sandybridge kernels": {"OPENBLAS_CORETYPE": "Sandybridge"},
               "NumPy without AVX-512": {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL "
                                                                     "AVX512_SPR"}}


def _digests(env: dict[str, str]) -> tuple[str, str]:
    import os
    import subprocess
    import sys

    from gansemble_lib.core.numerics import NATIVE, NUMERICS_ENV, PINS
    from tests.conftest import REPO

    native = {k: v for k, v in os.environ.items() if k not in PINS} | {NUMERICS_ENV: NATIVE}
    done = subprocess.run([sys.executable, "-c", _DIGESTS], cwd=REPO, capture_output=True,
                          text=True, env={**native, **env}, check=True)
    arrays, csv = done.stdout.split()
    return arrays, csv


def test_the_default_data_are_the_same_bytes_on_another_floating_point_path() -> None:
    """The embedded dataset is regenerated, not stored, on a fresh clone, and must give the
    bytes data.dvc records on any x86-64 CPU. The float arrays may differ in the last bits
    between CPUs; the file keeps 5 decimals, far above that noise, so the bytes do not. Here
    the floating-point path is really changed (the arrays' own bytes differ at least once) and
    the file's bytes stay the same."""
    arrays, csv = _digests({})
    others = {name: _digests(env) for name, env in OTHER_PATHS.items()}
    assert any(other[0] != arrays for other in others.values()), \
        "no stand-in changed the floating-point result; the test would prove nothing"
    assert {name: other[1] for name, other in others.items()} == {name: csv for name in others}


def test_float_noise_far_below_the_written_precision_leaves_the_bytes_alone(monkeypatch) -> None:
    """The same, in process: every spectrum perturbed by a relative 1e-12 (a thousand times
    the rounding of one float operation), the written file unchanged; a perturbation at the
    written precision changes it (the control)."""
    from gansemble_lib.data import simulate as sim
    from gansemble_lib.data import simulated_raw as raw

    cfg = SimulationConfig(class_counts={c: 4 for c in PAPER_CLASS_COUNTS})
    axis, x, _ = simulate(cfg)
    before = raw._csv_bytes(axis, x, raw.column_names(cfg))
    original = sim._calibrated_spectrum

    def perturbed(scale):
        def spectrum(rng, *args, **kwargs):
            y = original(rng, *args, **kwargs)
            return y * (1 + scale * np.random.default_rng(7).standard_normal(y.shape))
        return spectrum

    monkeypatch.setattr(sim, "_calibrated_spectrum", perturbed(1e-12))
    noisy = simulate(cfg)[1]
    assert not np.array_equal(noisy, x)
    assert raw._csv_bytes(axis, noisy, raw.column_names(cfg)) == before
    monkeypatch.setattr(sim, "_calibrated_spectrum", perturbed(1e-4))
    assert raw._csv_bytes(axis, simulate(cfg)[1], raw.column_names(cfg)) != before
