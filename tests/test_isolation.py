"""Test-split isolation, checked at run time: every stage that learns or selects runs with the
test split made unreadable, and has to finish.

The notebooks say "the test split is not read here" and ``PreparedData`` only hands the test
split out through ``test_for_evaluation()``; this module checks the claim by running the
library calls of stages 02 (chooser), 03 (cGANs, spectrum GAN), 03b (class VAEs), 04 (source
loading, the strong filter's judge, all filters) and 05 (the domain extractor, the only part of
stage 05 that learns) on a tiny prepared dataset, with the same arguments as the notebooks.

While a stage runs, the test split is fenced off three ways:

* ``PreparedData.test_for_evaluation`` raises;
* ``PreparedData._rows`` raises for any mask that selects a row whose manifest split is
  ``test``, which catches filtering the manifest by hand instead of calling the accessor;
* the ``PreparedData`` the stage gets raises when code outside ``dataset.py`` touches its
  whole-dataset fields (``images``, ``spectra``, ``manifest``), and its files on disk are
  deleted after loading, so neither the in-memory arrays nor ``data/prepared`` can be read
  around the split accessors.

Positive controls show each fence fires, so the stage tests cannot pass vacuously.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import sys
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from gansemble_lib import (
    cgan,
    cgan_stage,
    chooser,
    extractors,
    gan_checks,
    paper_table,
    sources,
    vae_training,
)
from gansemble_lib import dataset as dataset_module
from gansemble_lib import symp_filter as sf
from gansemble_lib.cgan import steps_for
from gansemble_lib.classifiers import classification_scores, predict, to_tensor
from gansemble_lib.constants import (
    IMAGES_FILE,
    MANIFEST_FILE,
    SAMPLE_ID,
    SPECTRA_FILE,
    SPLIT,
    TEST,
    TRAIN,
    VAL,
)
from gansemble_lib.dataset import PreparedData, load_prepared
from gansemble_lib.folds import read_fold_table, write_fold_view
from gansemble_lib.gan_training import CHECKPOINT_FILE
from gansemble_lib.generators import load_generator
from gansemble_lib.io_utils import atomic_dir, write_json
from gansemble_lib.prepare import prepare
from gansemble_lib.profiles import profile_params
from gansemble_lib.simulate import SimulationConfig, write_dataset
from gansemble_lib.spectral_augment import SpectralSource

# Enough per class that after the split every class has >= 2 train images (SMOTE, VAE
# interpolation and the strong filter's leave-one-out distances need a neighbour).
CLASS_COUNTS = {"Cellulosic": 10, "POM": 8, "PE": 10, "PS": 8}
SMOKE = profile_params("smoke")  # the parameters the pipeline smoke tests run with
CPU = torch.device("cpu")
FENCED_FIELDS = frozenset({"images", "spectra", "manifest"})
GUARD_FRAMES = frozenset({"_guarded_rows", "_guarded_test", "__getattribute__", "_reader"})
# Functions of this module allowed to touch the fenced fields: the fences themselves, and the
# control that feeds a hand-made manifest mask to _rows (the stage functions are not allowed).
FENCE_ALLOWED = GUARD_FRAMES | {"_via_manifest_mask"}


def stage_params(section: str, **overrides):
    return dataclasses.replace(SMOKE[section], device="cpu", **overrides)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def prepared_root(tmp_path_factory) -> Path:
    """The real ``prepare`` stage (3 outer folds) on a small simulated spectra set, seen
    through the view the folds stage gives every stage of fold ``r0f1``: its test part is
    that outer fold's held-out samples, so every fence below guards the outer test fold."""
    root = tmp_path_factory.mktemp("isolation")
    raw = write_dataset(root / "raw", SimulationConfig(class_counts=CLASS_COUNTS, points=400))
    prepare(raw, root / "prepared", SMOKE["prepare"], folds=3)
    view = write_fold_view("r0f1", root / "prepared", root / "folds/r0f1/data/prepared")
    data = load_prepared(view)
    held_out = read_fold_table(root / "prepared")["r0f1"] == TEST
    assert (data.manifest[SPLIT] == TEST).equals(held_out), "the view's test = the fold's"
    assert int(held_out.sum()) >= len(CLASS_COUNTS), "the fixture needs a test part to fence"
    return view


# --- the fences ---------------------------------------------------------------------------

def _reader() -> str:
    """The innermost frame that is neither dataset.py nor one of the fences: who read."""
    for frame in reversed(traceback.extract_stack()):
        ours = frame.filename == __file__ and frame.name in GUARD_FRAMES
        if not ours and frame.filename != dataset_module.__file__:
            return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}()"
    return "unknown"


class FencedPreparedData(PreparedData):
    """``PreparedData`` whose whole-dataset fields only ``dataset.py`` (the split accessors)
    and this module's fences may touch: anything else reaching for ``data.images`` etc. would
    see the test rows without going through ``subset()``."""

    def __getattribute__(self, name: str):
        if name in FENCED_FIELDS:
            code = sys._getframe(1).f_code
            allowed = (code.co_filename == dataset_module.__file__
                       or (code.co_filename == __file__ and code.co_name in FENCE_ALLOWED))
            if not allowed:
                raise AssertionError(f"the test split was read: PreparedData.{name} (all "
                                     f"splits) touched directly by {_reader()}")
        return super().__getattribute__(name)


@contextlib.contextmanager
def fence_test_split(stage: str) -> Iterator[list[tuple[str, ...]]]:
    """Make the test split unreadable while ``stage`` runs; yields the splits each
    ``_rows`` call served, so a test can check the stage really read data through the fence."""
    served: list[tuple[str, ...]] = []
    original_rows = PreparedData._rows

    def _guarded_test(self):
        raise AssertionError(f"the test split was read by {stage}: test_for_evaluation() "
                             f"called from {_reader()}")

    def _guarded_rows(self, mask):
        splits = self.manifest[SPLIT].to_numpy()[np.flatnonzero(mask)]
        if np.any(splits == TEST):
            raise AssertionError(f"the test split was read by {stage}: {_reader()} selected "
                                 f"{int(np.sum(splits == TEST))} test rows")
        served.append(tuple(sorted(set(splits))))
        return original_rows(self, mask)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PreparedData, "test_for_evaluation", _guarded_test)
        patch.setattr(PreparedData, "_rows", _guarded_rows)
        yield served


@pytest.fixture
def fenced_data(prepared_root: Path, tmp_path: Path) -> FencedPreparedData:
    """The prepared data in memory, fenced, with its files on disk gone."""
    root = tmp_path / "prepared"
    shutil.copytree(prepared_root, root)
    data = load_prepared(root)
    for name in (IMAGES_FILE, MANIFEST_FILE, SPECTRA_FILE):
        (root / name).unlink()
    return FencedPreparedData(**{f.name: getattr(data, f.name)
                                 for f in dataclasses.fields(PreparedData)})


# --- the stages, as their notebooks call the library ---------------------------------------

def write_augmented_set(data: PreparedData, out: Path, *, strategy: int = 7, n: int = 8) -> Path:
    """Stage 02's output for a fixed choice (roll + masking; best spectral: jitter), as
    notebook 02 writes it."""
    train = data.subset(TRAIN)
    images, manifest = chooser.augmented_training_set(
        train.images, train.labels, train.manifest[SAMPLE_ID].to_numpy(), strategy=strategy,
        n=n, seed=0)
    record = {"strategy": strategy, "name": "fixed", "n": n,
              chooser.SPECTRAL: {"strategy": 16, "name": "fixed", "n": n}}
    chooser.save_augmented_set(out / "augmented", images, manifest, record)
    return out / "augmented"


def stage_02_chooser(data: PreparedData, out: Path) -> None:
    """Notebook 02: the search on train/val, the rule's choice, the augmented set."""
    params = stage_params("choose")
    train, val = data.subset(TRAIN), data.subset(VAL)
    source = SpectralSource.of(data, train)
    runs = chooser.run_search(train.images, train.labels, val.images, val.labels, params=params,
                              n_classes=len(data.classes), progress=False, source=source)
    assert chooser.SPECTRAL in set(runs[chooser.FAMILY])  # the spectral family ran too
    # run_search records a raising candidate as "failed: ..." instead of raising: a fence
    # firing inside a candidate must still fail this test.
    assert (runs[chooser.STATUS] == chooser.OK).all(), runs[chooser.STATUS].tolist()
    summary = chooser.summarise(runs)
    chosen = chooser.select(summary, metric=params.select_metric,
                            tie_tolerance=params.tie_tolerance)
    record = chooser.chosen_record(chosen, summary, params)
    images, manifest = chooser.augmented_training_set(
        train.images, train.labels, train.manifest[SAMPLE_ID].to_numpy(),
        strategy=record["strategy"], n=record["n"], seed=params.seed, source=source)
    chooser.save_augmented_set(out / "augmented", images, manifest, record)
    write_json(out / "02_chosen.json", record)
    assert (out / "augmented" / "chosen.json").is_file()


def train_variant(data: PreparedData, out: Path, architecture: str, training_data: str,
                  **overrides) -> Path:
    """Notebook 03's training call; returns the checkpoint."""
    params = stage_params("cgan", **overrides)
    cgan_stage.check_variant(architecture, training_data)
    augmented_dir = (write_augmented_set(data, out) if training_data in (
        cgan_stage.AUGMENTED, cgan_stage.SPECTRAL_AUG) else out / "augmented")
    model_dir = out / f"{architecture}_{training_data}"
    run, n_training = cgan_stage.train_variant(
        architecture=architecture, training_data=training_data, prepared=data,
        augmented_dir=augmented_dir, params=params, model_dir=model_dir, progress=False)
    assert run.steps_run == steps_for(architecture, params) and n_training > 0
    return model_dir / CHECKPOINT_FILE


def stage_03_cgan(architecture: str, training_data: str) -> Callable[[PreparedData, Path], None]:
    def stage(data: PreparedData, out: Path) -> None:
        """Notebook 03: train one variant, then its copy and spectral checks (train/val)."""
        params = stage_params("cgan")
        train, val = data.subset(TRAIN), data.subset(VAL)
        generator = load_generator(train_variant(data, out, architecture, training_data))
        samples, sample_labels = cgan_stage.evaluation_samples(generator, params.eval_per_class,
                                                               seed=params.seed + 1)
        near = gan_checks.nearest_real(samples, train.images, val.images,
                                       sample_labels=sample_labels, train_labels=train.labels)
        results = cgan_stage.checks(samples, sample_labels, data, near)
        assert results[cgan_stage.CHEMISTRY] is not None  # spectra input: the spectral check ran
        record = cgan_stage.gate_record(samples, sample_labels, data,
                                        spread_ratio=near.spread_ratio, seed=params.seed)
        assert record["status"]  # the gate judged on train/val only

    return stage


def train_vaes(data: PreparedData, out: Path, **overrides) -> Path:
    params = stage_params("vae", **overrides)
    train = data.subset(TRAIN)
    result = vae_training.train_class_vaes(train.images, train.labels, data.classes,
                                           params=params, checkpoint_path=out / "vae.pt",
                                           progress=False)
    assert result.status == "trained from scratch"
    return out / "vae.pt"


def stage_03b_vae(data: PreparedData, out: Path) -> None:
    """Notebook 03b: class VAEs on train, reconstruction errors on train and val, samples."""
    params = stage_params("vae")
    train, val = data.subset(TRAIN), data.subset(VAL)
    generator = load_generator(train_vaes(data, out))
    vae_training.reconstruction_table(generator, {TRAIN: (train.images, train.labels),
                                                  VAL: (val.images, val.labels)})
    for k in range(len(data.classes)):
        assert len(generator.generate(k, 2, seed=params.seed)) == 2
    assert cgan_stage.sample_gate(generator, data, per_class=2, seed=params.seed)["status"]


def stage_05b_paper_table_training(data: PreparedData, out: Path) -> None:
    """Notebook 05b up to its scoring: the five training sets from the chooser's ranking,
    an MPcGAN on one of them and its gate (the held-out part is read only to score)."""
    params = stage_params("cgan")
    train = data.subset(TRAIN)
    scores = pd.DataFrame({"strategy": [0, 7, 16], "n": [8, 8, 8], "failed": [0, 0, 0],
                           "macro_f1_mean": [0.5, 0.6, 0.7]})
    ranking = paper_table.top_strategies(scores, metric="macro_f1", top=3)
    sets = paper_table.training_sets(train.images, train.labels, ranking=ranking, resample_n=8,
                                     seed=0, source=SpectralSource.of(data, train))
    assert [s.strategy for s in sets] == [None, 0, 16, 7]
    last = sets[-1]
    cgan.train(last.images, last.labels, data.classes, architecture="mpcgan", params=params,
               model_dir=out / "paper", progress=False, write_grids=False)
    generator = load_generator(out / "paper" / CHECKPOINT_FILE)
    assert cgan_stage.sample_gate(generator, data, per_class=2, seed=0)["status"]


def stage_04_filters(data: PreparedData, out: Path) -> None:
    """Notebook 04: load every source, train the strong filter's judge, filter every pool."""
    params = stage_params("symp_filter")
    generators = {  # the upstream stages' outputs, made here (under the same fence)
        "mpcgan_noaug": train_variant(data, out, "mpcgan", "train", steps=2, checkpoint_every=2),
        "vae": train_vaes(data, out, epochs=1, kl_warmup=0),
    }
    augmented_dir = write_augmented_set(data, out)

    sf.check_budget(pool_size=params.pool_size, keep=params.keep)
    train, val = data.subset(TRAIN), data.subset(VAL)
    named = sources.load_sources(generators, data, augmented_dir=augmented_dir,
                                 smote_neighbors=params.smote_neighbors, device="cpu")
    assert set(named) == {*generators, sources.AUGMENTATION, sources.SMOTE_NAME}
    judge = sf.train_domain_classifier(
        train.images, train.labels, n_classes=len(data.classes), name=params.classifier,
        size=params.classifier_size, epochs=params.epochs, batch_size=params.batch_size,
        lr=params.lr, seed=params.seed, device=CPU)
    classification_scores(val.labels, predict(judge, to_tensor(val.images, params.classifier_size),
                                              device=CPU), len(data.classes))
    checks = sf.build_checks(judge, train.images, val.images, size=params.classifier_size,
                             tau=params.tau, copy_quantile=params.copy_quantile,
                             outlier_quantile=params.outlier_quantile, device=CPU)
    index_rows = []
    with atomic_dir(out / "synthetic") as synthetic:
        for name, generator in named.items():
            pool = sf.draw_pool(generator, n_classes=len(data.classes),
                                pool_size=params.pool_size, rounds=params.rounds,
                                seed=params.seed)
            results = sf.apply_filters(pool, checks, keep=params.keep, region=params.region,
                                       corner_fraction=params.corner_fraction,
                                       direction=params.direction)
            assert set(results) == set(sf.FILTERS)
            index_rows += sf.save_filtered_sets(synthetic, name, pool, results, data.classes)
        sf.write_index(synthetic, index_rows)
    assert len(sf.load_sets(out / "synthetic", data.classes)) == len(named) * len(sf.FILTERS)


def stage_05_domain_extractor(data: PreparedData, out: Path) -> None:
    """Notebook 05's one learning step: the fallback feature extractor, trained on train."""
    params = stage_params("fidelity")
    train = data.subset(TRAIN)
    extractors.train_domain_extractor(
        train.images, train.labels, out / "domain.pt", classes=data.classes,
        arch=params.domain_arch, size=params.domain_size, epochs=params.domain_epochs,
        batch_size=params.domain_batch_size, lr=params.domain_lr, seed=params.seed, device=CPU)
    extractor = extractors.domain_extractor(out / "domain.pt")
    assert extractor.feature_dim > 0


STAGES: dict[str, Callable[[PreparedData, Path], None]] = {
    "02_chooser": stage_02_chooser,
    "03_mpcgan_noaug": stage_03_cgan("mpcgan", "train"),
    "03_mpcgan_aug": stage_03_cgan("mpcgan", "augmented"),
    "03_modern_aug": stage_03_cgan("modern", "augmented"),
    "03_modern_spec": stage_03_cgan("modern", "spectral"),
    "03_spectrum": stage_03_cgan("spectrum", "train"),
    "03b_class_vaes": stage_03b_vae,
    "04_filters": stage_04_filters,
    "05_domain_extractor": stage_05_domain_extractor,
    "05b_paper_table_training": stage_05b_paper_table_training,
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_stage_finishes_with_the_test_split_unreadable(stage, fenced_data, tmp_path):
    with fence_test_split(stage) as served:
        STAGES[stage](fenced_data, tmp_path / "out")
    assert served, f"{stage} never read data through PreparedData: the fence saw nothing"
    assert all(TEST not in splits for splits in served)
    assert any(TRAIN in splits for splits in served), f"{stage} did not read the train split"


# --- positive controls: each fence fires ---------------------------------------------------

def test_unfenced_data_has_a_test_split(prepared_root):
    data = load_prepared(prepared_root)
    test = data.test_for_evaluation()
    assert len(test.labels) >= len(CLASS_COUNTS) and set(test.manifest[SPLIT]) == {TEST}


def _via_accessor(data: PreparedData):
    return data.test_for_evaluation()


def _via_manifest_mask(data: PreparedData):
    return data._rows((data.manifest[SPLIT] != VAL).to_numpy())  # train and test rows


def _via_raw_arrays(data: PreparedData):
    # compiled under another file name: code outside dataset.py and this test module
    return eval(compile("data.images[-1]", "leaky_stage.py", "eval"), {"data": data})


def _via_disk(data: PreparedData):
    return load_prepared(data.root)


@pytest.mark.parametrize("leak, error, message", [
    (_via_accessor, AssertionError, r"read by control: test_for_evaluation\(\) called from "
                                    r"test_isolation\.py:\d+ in _via_accessor"),
    (_via_manifest_mask, AssertionError, r"read by control: .*_via_manifest_mask.* test rows"),
    (_via_raw_arrays, AssertionError, r"PreparedData\.images .* leaky_stage\.py"),
    (_via_disk, Exception, r"missing"),
], ids=["test_for_evaluation", "manifest_mask", "raw_arrays", "prepared_files"])
def test_each_fence_fires(leak, error, message, fenced_data):
    with fence_test_split("control"), pytest.raises(error, match=message):
        leak(fenced_data)


def test_subset_still_refuses_the_test_split_under_the_fence(fenced_data):
    with fence_test_split("control") as served:
        with pytest.raises(ValueError, match="test_for_evaluation"):
            fenced_data.subset(TRAIN, TEST)
        assert len(fenced_data.subset(TRAIN, VAL).labels) > 0
    assert served == [(TRAIN, VAL)]
