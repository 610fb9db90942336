"""The prepare stage end to end on small inputs: outputs, invariants, determinism, bad input."""

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from gansemble_lib.core.config import PrepareParams
from gansemble_lib.core.constants import LABEL, SPLIT, TEST, TRAIN, UNUSED, VAL
from gansemble_lib.core.errors import DataError
from gansemble_lib.data.dataset import load_prepared
from gansemble_lib.data.import_data import import_data
from gansemble_lib.data.prepare import prepare
from gansemble_lib.data.simulate import SimulationConfig
from gansemble_lib.data.simulated_raw import write_dataset

SMALL = {"Cellulosic": 6, "POM": 3, "PE": 9, "PS": 5}
FAST = {"image_size": 32, "axis_points": 200, "baseline": "rolling_min"}


@pytest.fixture
def raw_dir(tmp_path):
    return write_dataset(tmp_path / "raw", SimulationConfig(class_counts=SMALL))


def test_outputs_and_split_invariants(raw_dir, tmp_path):
    out = tmp_path / "prepared"
    info = prepare(raw_dir, out, PrepareParams(**FAST))
    data = load_prepared(out)
    assert data.classes == tuple(SMALL)
    assert data.images.shape == (sum(SMALL.values()), 1, 32, 32)
    assert data.images.dtype == np.uint8
    assert data.spectra.shape == (sum(SMALL.values()), 200)
    manifest = data.manifest
    assert manifest["sample_id"].is_unique
    for name, n in SMALL.items():
        counts = Counter(manifest.loc[manifest[LABEL] == name, SPLIT])
        assert counts[TEST] >= 1 and counts[VAL] >= 1 and counts[TRAIN] >= 1
        assert sum(counts.values()) == n
    assert info["counts"][TEST] == dict(Counter(manifest.loc[manifest[SPLIT] == TEST, LABEL]))
    test = data.test_for_evaluation()
    train_val = data.subset(TRAIN, VAL)
    assert not set(test.manifest["sample_id"]) & set(train_val.manifest["sample_id"])
    with pytest.raises(ValueError, match="test_for_evaluation"):
        data.subset(TRAIN, TEST)


def test_same_seed_same_bytes(raw_dir, tmp_path):
    for name in ("a", "b"):
        prepare(raw_dir, tmp_path / name, PrepareParams(**FAST))
    for file in ("images.npy", "manifest.csv", "spectra.npz"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    prepare(raw_dir, tmp_path / "c", PrepareParams(**FAST, seed=5))
    assert ((tmp_path / "a" / "manifest.csv").read_bytes()
            != (tmp_path / "c" / "manifest.csv").read_bytes())


def test_exponential_profile_subsamples_train_only(raw_dir, tmp_path):
    natural = prepare(raw_dir, tmp_path / "n", PrepareParams(**FAST))
    skewed = prepare(raw_dir, tmp_path / "e", PrepareParams(
        **FAST, imbalance_profile="exponential", imbalance_ratio=4.0))
    assert skewed["counts"][TEST] == natural["counts"][TEST]
    assert skewed["counts"][VAL] == natural["counts"][VAL]
    train = skewed["counts"][TRAIN]
    assert max(train.values()) / min(train.values()) == pytest.approx(4.0, rel=0.3)
    manifest = pd.read_csv(tmp_path / "e" / "manifest.csv")
    assert (manifest[SPLIT] == UNUSED).sum() == sum(natural["counts"][TRAIN].values()) - sum(
        train.values())


def test_a_class_with_one_sample_fails_and_writes_nothing(tmp_path):
    raw = write_dataset(tmp_path / "raw", SimulationConfig(class_counts={"PE": 5, "PS": 1}))
    out = tmp_path / "prepared"
    with pytest.raises(DataError, match="class 'PS' has 1 sample"):
        prepare(raw, out, PrepareParams(**FAST))
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]  # no temporary leftovers


def test_failure_keeps_the_previous_output(raw_dir, tmp_path):
    out = tmp_path / "prepared"
    prepare(raw_dir, out, PrepareParams(**FAST))
    before = (out / "manifest.csv").read_bytes()
    (raw_dir / "spectra.csv").write_text("wavenumber,PE V1\n", encoding="utf-8")
    with pytest.raises(DataError):
        prepare(raw_dir, out, PrepareParams(**FAST))
    assert (out / "manifest.csv").read_bytes() == before


def test_missing_descriptor_says_how_to_get_data(tmp_path):
    (tmp_path / "raw").mkdir()
    with pytest.raises(DataError, match="gansemble fetch-data"):
        prepare(tmp_path / "raw", tmp_path / "out", PrepareParams(**FAST))


def test_image_folders_prepare_like_spectra(tmp_path):
    src = tmp_path / "photos"
    rng = np.random.default_rng(0)
    for name in ("fibre", "fragment"):
        (src / name).mkdir(parents=True)
        for i in range(4):
            pixels = rng.integers(0, 256, size=(40, 60, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(src / name / f"{i}.png")
    raw = tmp_path / "raw"
    import_data([src], raw_dir=raw, record=False)
    prepare(raw, tmp_path / "prepared", PrepareParams(image_size=24, channels=3))
    data = load_prepared(tmp_path / "prepared")
    assert data.images.shape == (8, 3, 24, 24) and data.spectra is None
    assert data.info["modality"] == "images"


def test_atomic_writes_get_ordinary_file_modes(tmp_path):
    import os

    from gansemble_lib.core.io_utils import write_text

    write_text(tmp_path / "x.txt", "hello")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o666 & ~mask
