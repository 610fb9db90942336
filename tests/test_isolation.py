"""Test-split isolation, enforced at run time and checked on the real notebooks.

The fence (``gansemble_lib/data/dataset.py``): a stage that learns or selects runs with
``GANSEMBLE_FENCE_TEST=1``, which :func:`gansemble_lib.pipeline.runner.run_notebook` sets around its
notebook; under it ``load_prepared`` keeps only the train and validation rows, and the loaded
object raises :class:`FencedSplitError` on ``test_for_evaluation()`` and on any use of its
whole-dataset fields (``manifest``, ``images``, ``spectra``).

The slow tests below run the real notebooks of one outer fold (02, 03 for three variants that
cover every architecture and training set, 03b, 04) through ``run_notebook`` on a tiny prepared
dataset with the smoke profile, *without* setting the fence themselves, and each must finish.
Stages 05 and 05b score against the held-out part by design; they run with the fence set by
the test and must get through everything they learn (05's feature extractor, 05b's MPcGANs)
and stop at their first read of the held-out part, with the fence's error. A positive control
adds one cell that filters the manifest by hand (``data.manifest.query("split == 'test'")``) to
the real notebook 02: run the same way, it must stop with the fence's error. The fast tests
check the loaded object (what is in memory, what each way to the test rows raises) and that
the runner fences exactly the learning and selecting stages.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from gansemble_lib.core.constants import SAMPLE_ID, SPECTRA, SPLIT, TEST, TRAIN, VAL
from gansemble_lib.core.errors import DataError
from gansemble_lib.core.profiles import profile_params, write_profile
from gansemble_lib.core.progress import CONSOLE_ENV
from gansemble_lib.data.dataset import (
    FENCE_ENV,
    FENCED_STAGES,
    SCORING_STAGES,
    FencedSplitError,
    fence_message,
    fence_test_split,
    load_prepared,
)
from gansemble_lib.data.prepare import prepare
from gansemble_lib.data.simulate import SimulationConfig
from gansemble_lib.data.simulated_raw import write_dataset
from gansemble_lib.data.units import read_fold_table
from gansemble_lib.evaluation import paper_table as pt
from gansemble_lib.pipeline.engine import THREAD_ENV
from gansemble_lib.pipeline.folds import write_fold_view
from gansemble_lib.pipeline.runner import run_notebook
from gansemble_lib.pipeline.stages import STAGES, fold_stages
from tests.conftest import REPO

# Enough per class that after the split every class has >= 2 train images (SMOTE, VAE
# interpolation and the strong filter's leave-one-out distances need a neighbour).
CLASS_COUNTS = {"Cellulosic": 10, "POM": 8, "PE": 10, "PS": 8}
FOLD = "r0f1"
VIEW = f"folds/{FOLD}/data/prepared"
# Three cGAN variants cover every architecture (mpcgan, modern, spectrum) and every training
# set (the chooser's pick, spectral augmentation, the train split); stage 04 then filters
# their pools, the VAE's, the augmentation's and SMOTE's.
VARIANTS = ("mpcgan_aug", "modern_spec", "spectrum")
LEARNING = ("choose", *(f"train_cgan@{v}" for v in VARIANTS), "train_vae", "symp_filter")
SCORING = ("fidelity", "paper_table")
LOAD_LINE = "data = load_prepared(paths.prepared_dir)\n"
LEAK = "leaked = data.manifest.query(\"split == 'test'\")  # a hand-made read of the test split\n"


def _fence_error(what: str) -> str:
    """The fence's exception as the runner reports a notebook's error: type, then message."""
    return re.escape(f"{FencedSplitError.__name__}: {fence_message(what)}")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """A project folder as the runner expects it: the real notebooks, the smoke profile, the
    real ``prepare`` stage (3 outer folds) on a small simulated spectra set, and fold r0f1's
    view, whose test part is that outer fold's held-out samples."""
    root = tmp_path_factory.mktemp("isolation")
    shutil.copytree(REPO / "notebooks", root / "notebooks")
    write_profile("smoke", root / "params.yaml")
    params = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))
    params["cgan"]["variants"] = ",".join(VARIANTS)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")
    raw = write_dataset(root / "raw", SimulationConfig(class_counts=CLASS_COUNTS, points=400))
    prepare(raw, root / "data/prepared", profile_params("smoke")["prepare"], folds=3)
    write_fold_view(FOLD, root / "data/prepared", root / VIEW)
    held_out = read_fold_table(root / "data/prepared")[FOLD] == TEST
    assert int(held_out.sum()) >= len(CLASS_COUNTS), "the fixture needs a test part to fence"
    return root


@pytest.fixture
def fenced(monkeypatch):
    monkeypatch.setenv(FENCE_ENV, "1")


# --- the loaded object ----------------------------------------------------------------------

def test_unfenced_data_has_a_test_split(project, monkeypatch):
    monkeypatch.delenv(FENCE_ENV, raising=False)
    data = load_prepared(project / VIEW)
    assert not data.fenced
    test = data.test_for_evaluation()
    assert len(test.labels) >= len(CLASS_COUNTS) and set(test.manifest[SPLIT]) == {TEST}


def test_under_the_fence_only_train_and_validation_rows_are_in_memory(project, monkeypatch):
    monkeypatch.delenv(FENCE_ENV, raising=False)
    whole = load_prepared(project / VIEW)
    monkeypatch.setenv(FENCE_ENV, "1")
    data = load_prepared(project / VIEW)
    assert data.fenced
    held_in = data.held_in
    test_ids = set(whole.test_for_evaluation().manifest[SAMPLE_ID])
    assert not test_ids & set(held_in.manifest[SAMPLE_ID])
    assert set(held_in.manifest[SPLIT]) == {TRAIN, VAL}
    assert len(held_in.images) == len(held_in.spectra) == len(held_in.labels) == int(
        whole.manifest[SPLIT].isin([TRAIN, VAL]).sum())
    # what the stages read is unchanged, row for row
    for split in ((TRAIN,), (VAL,), (TRAIN, VAL)):
        before, after = whole.subset(*split), data.subset(*split)
        assert np.array_equal(before.images, after.images)
        assert np.array_equal(before.labels, after.labels)
        assert np.array_equal(before.spectra, after.spectra)
        pd.testing.assert_frame_equal(before.manifest, after.manifest)
    assert data.image_shape == whole.image_shape == whole.images.shape[1:]
    assert np.array_equal(data.axis, whole.axis) and data.classes == whole.classes


@pytest.mark.parametrize("leak, what", [
    (lambda d: d.test_for_evaluation(), "test_for_evaluation()"),
    (lambda d: d.manifest.query("split == 'test'"), "PreparedData.manifest (every split)"),
    (lambda d: d.manifest[SPLIT] == TEST, "PreparedData.manifest (every split)"),
    (lambda d: d.images[-1], "PreparedData.images (every split)"),
    (lambda d: np.asarray(d.images), "PreparedData.images (every split)"),
    (lambda d: d.images.shape, "PreparedData.images (every split)"),
    (lambda d: len(d.spectra), "PreparedData.spectra (every split)"),
    (lambda d: list(d.spectra), "PreparedData.spectra (every split)"),
    (lambda d: load_prepared(d.root).test_for_evaluation(), "test_for_evaluation()"),
], ids=["accessor", "manifest_query", "manifest_mask", "images_index", "images_array",
        "images_shape", "spectra_len", "spectra_iter", "reload_from_disk"])
def test_every_way_to_the_test_split_raises_the_fence_error(project, fenced, leak, what):
    data = load_prepared(project / VIEW)
    with pytest.raises(FencedSplitError, match=f"^{re.escape(fence_message(what))}$"):
        leak(data)


def test_subset_still_refuses_the_test_split_under_the_fence(project, fenced):
    data = load_prepared(project / VIEW)
    with pytest.raises(ValueError, match="test_for_evaluation"):
        data.subset(TRAIN, TEST)


# --- which stages the runner fences ---------------------------------------------------------

def test_every_per_fold_stage_is_declared_fenced_or_scoring():
    per_fold = {s.name for s in STAGES if s.per_fold}
    assert per_fold == FENCED_STAGES | SCORING_STAGES and not FENCED_STAGES & SCORING_STAGES


@pytest.mark.parametrize("before", [None, "0"])
def test_the_fence_is_up_exactly_while_a_learning_stage_runs(monkeypatch, before):
    if before is None:
        monkeypatch.delenv(FENCE_ENV, raising=False)
    else:
        monkeypatch.setenv(FENCE_ENV, before)
    stages = fold_stages(SPECTRA, None)
    assert {s.partition("@")[0] for s in stages} == FENCED_STAGES | SCORING_STAGES
    for stage in stages:
        learns = stage.partition("@")[0] in FENCED_STAGES
        with fence_test_split(stage) as up:
            assert up == learns and os.environ.get(FENCE_ENV) == ("1" if learns else before)
        assert os.environ.get(FENCE_ENV) == before, stage


def test_run_notebook_starts_each_kernel_inside_the_fence(project, monkeypatch):
    """The runner itself raises the fence: what the notebook's kernel would inherit, recorded
    at the moment papermill is called (the slow tests below run the kernels for real)."""
    import nbformat
    import papermill

    seen = {}

    def execute(notebook, out, **kwargs):
        seen[kwargs["parameters"]["stage"]] = os.environ.get(FENCE_ENV)
        executed = nbformat.v4.new_notebook()
        nbformat.write(executed, out)
        return executed

    monkeypatch.chdir(project)
    monkeypatch.setenv(CONSOLE_ENV, "")
    monkeypatch.delenv(FENCE_ENV, raising=False)
    monkeypatch.setattr(papermill, "execute_notebook", execute)
    stages = fold_stages(SPECTRA, "params.yaml")
    for stage in stages:
        run_notebook(stage, fold=FOLD)
    assert seen == {s: "1" if s.partition("@")[0] in FENCED_STAGES else None for s in stages}
    assert FENCE_ENV not in os.environ


# --- the real notebooks, run by the runner ------------------------------------------------

def _run(stage: str):
    try:
        return run_notebook(stage, fold=FOLD)
    except DataError as error:
        return error


@pytest.fixture(scope="module")
def fold_runs(project) -> dict[str, str | DataError]:
    """Every stage of fold r0f1 up to 05b, in pipeline order, through ``run_notebook``: the
    learning ones with the fence left to the runner, the scoring ones with it set here.
    Values: the summary line, or the DataError the runner raised."""
    outcomes: dict[str, str | DataError] = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        patch.setenv(CONSOLE_ENV, "")  # summary lines only, as inside `gansemble folds`
        for name in THREAD_ENV:
            patch.setenv(name, "1")
        patch.delenv(FENCE_ENV, raising=False)
        for stage in LEARNING:
            outcomes[stage] = _run(stage)
            assert FENCE_ENV not in os.environ, "the runner left the fence up"
        patch.setenv(FENCE_ENV, "1")
        for stage in SCORING:
            outcomes[stage] = _run(stage)
    return outcomes


LEARNT = {"choose": ["data/augmented/chosen.json", "reports/metrics/02_chosen.json"],
          **{f"train_cgan@{v}": [f"models/cgan/{v}/checkpoint.pt", f"reports/metrics/03_{v}.json"]
             for v in VARIANTS},
          "train_vae": ["models/vae/vae.pt", "reports/metrics/03b_vae.json"],
          "symp_filter": ["data/synthetic/index.csv", "reports/metrics/04_filter.json"]}


@pytest.mark.slow
@pytest.mark.parametrize("stage", LEARNING)
def test_a_learning_notebook_finishes_with_the_test_split_fenced_off(fold_runs, project, stage):
    outcome = fold_runs[stage]
    assert isinstance(outcome, str), f"{stage} failed under the fence: {outcome}"
    for path in LEARNT[stage]:
        assert (project / "folds" / FOLD / path).is_file(), path


@pytest.mark.slow
@pytest.mark.parametrize("stage", SCORING)
def test_a_scoring_notebook_learns_under_the_fence_and_stops_at_its_test_read(
        fold_runs, project, stage):
    outcome = fold_runs[stage]
    assert isinstance(outcome, DataError), f"{stage} read no test data under the fence"
    assert re.search(_fence_error("test_for_evaluation()"), str(outcome)), str(outcome)
    fold = project / "folds" / FOLD
    if stage == "fidelity":  # its one learning step ran before the read
        assert (fold / "models/fidelity/domain_extractor.pt").is_file()
    else:  # every MPcGAN of the paper's table was trained (and gated) before the read
        scores = pd.read_csv(fold / "reports/tables/02_chooser_scores.csv")
        n_sets = 2 + len(pt.top_strategies(scores, metric="macro_f1", top=3))
        trained = sorted(p.parent.name for p in fold.glob("models/paper_table/*/checkpoint.pt"))
        assert trained == [pt.set_key(i) for i in range(n_sets)]


@pytest.mark.slow
def test_a_notebook_cell_that_filters_the_manifest_for_test_rows_stops_the_stage(
        project, tmp_path, monkeypatch):
    """Positive control: the real notebook 02 plus one cell that reads the test split by hand
    (what a text search for ``test_for_evaluation`` misses), run by the runner as usual."""
    leaky = tmp_path / "project"
    for part in ("params.yaml", "data/prepared", VIEW):
        copy = shutil.copytree if (project / part).is_dir() else shutil.copy
        (leaky / part).parent.mkdir(parents=True, exist_ok=True)
        copy(project / part, leaky / part)
    source = (REPO / "notebooks/02_choose_augmentation.py").read_text(encoding="utf-8")
    assert source.count(LOAD_LINE) == 1
    (leaky / "notebooks").mkdir()
    (leaky / "notebooks/02_choose_augmentation.py").write_text(
        source.replace(LOAD_LINE, LOAD_LINE + LEAK), encoding="utf-8")
    monkeypatch.chdir(leaky)
    monkeypatch.setenv(CONSOLE_ENV, "")
    monkeypatch.delenv(FENCE_ENV, raising=False)  # the runner raises the fence, not the test
    with pytest.raises(DataError, match=_fence_error("PreparedData.manifest (every split)")):
        run_notebook("choose", fold=FOLD)
    assert not (leaky / "folds" / FOLD / "data/augmented").exists()  # it stopped at the leak
