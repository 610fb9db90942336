"""The data chooser: the selection rule on constructed tables, failures, determinism, outputs."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from gansemble_lib.core.config import ChooseParams
from gansemble_lib.core.constants import SCORES
from gansemble_lib.core.errors import DataError
from gansemble_lib.evaluation import chooser


def _summary(rows):
    """rows: (strategy, n_base, n, f1, recall, failed)."""
    frame = pd.DataFrame(rows, columns=["strategy", "n_base", "n", "macro_f1_mean",
                                        "macro_recall_mean", "failed"])
    frame["name"] = frame["strategy"].astype(str)
    for metric in SCORES:
        if f"{metric}_mean" not in frame:
            frame[f"{metric}_mean"] = 0.5
        frame[f"{metric}_std"] = 0.01
    return frame


def test_highest_mean_metric_wins():
    table = _summary([(1, 1, 20, 0.80, 0.9, 0), (7, 2, 20, 0.85, 0.1, 0)])
    assert chooser.select(table, metric="macro_f1")["strategy"] == 7


def test_ties_go_to_recall_then_simplicity_then_smaller_n():
    by_recall = _summary([(1, 1, 20, 0.8, 0.7, 0), (7, 2, 20, 0.8, 0.9, 0)])
    assert chooser.select(by_recall, metric="macro_f1")["strategy"] == 7
    by_simplicity = _summary([(7, 2, 20, 0.8, 0.9, 0), (4, 1, 40, 0.8, 0.9, 0)])
    assert chooser.select(by_simplicity, metric="macro_f1")["strategy"] == 4
    by_n = _summary([(4, 1, 40, 0.8, 0.9, 0), (4, 1, 20, 0.8, 0.9, 0)])
    assert chooser.select(by_n, metric="macro_f1")["n"] == 20


def test_tolerance_widens_the_tie():
    table = _summary([(7, 2, 20, 0.82, 0.5, 0), (1, 1, 20, 0.80, 0.9, 0)])
    assert chooser.select(table, metric="macro_f1")["strategy"] == 7
    assert chooser.select(table, metric="macro_f1", tie_tolerance=0.03)["strategy"] == 1


def test_failed_candidates_are_never_chosen_and_all_failed_is_an_error():
    table = _summary([(1, 1, 20, 0.99, 0.99, 1), (2, 1, 20, 0.5, 0.5, 0)])
    assert chooser.select(table, metric="macro_f1")["strategy"] == 2
    with pytest.raises(RuntimeError, match="every chooser candidate failed"):
        chooser.select(_summary([(1, 1, 20, 0.9, 0.9, 2)]), metric="macro_f1")


def test_overlap_statement_counts_candidates_within_noise():
    table = _summary([(1, 1, 20, 0.90, 0.9, 0), (2, 1, 20, 0.895, 0.9, 0),
                      (3, 1, 20, 0.50, 0.5, 0)])
    chosen = chooser.select(table, metric="macro_f1")
    close = chooser.overlapping(table, chosen, metric="macro_f1")
    assert close["strategy"].tolist() == [2]
    text = chooser.certainty_statement(table, chosen, metric="macro_f1")
    assert "1 of 2 other candidates" in text and "overlap" in text


def _toy(n_per_class=(6, 3), size=32, seed=0):
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for k, n in enumerate(n_per_class):
        for _ in range(n):
            img = np.full((1, size, size), 255, np.uint8)
            img[0, :, k * 10 + rng.integers(0, 4)] = 0  # a class-specific vertical line
            images.append(img)
            labels.append(k)
    return np.stack(images), np.array(labels)


TINY = ChooseParams(strategies=(0, 4), n_grid=(6,), repeats=2, epochs=2, classifier_size=16)


def test_search_is_deterministic_and_reports_every_run():
    x, y = _toy()
    a = chooser.run_search(x, y, x, y, params=TINY, n_classes=2, progress=False)
    b = chooser.run_search(x, y, x, y, params=TINY, n_classes=2, progress=False)
    assert len(a) == 2 * 1 * 2 and (a["status"] == "ok").all()
    pd.testing.assert_frame_equal(a.drop(columns="seconds"), b.drop(columns="seconds"))


def _flaky_strategy_4(monkeypatch):
    original = chooser.oversample

    def flaky(images, labels, *, strategy, **kwargs):
        if strategy == 4:
            raise MemoryError("simulated")
        return original(images, labels, strategy=strategy, **kwargs)

    monkeypatch.setattr(chooser, "oversample", flaky)


def test_a_failing_candidate_stops_the_stage_naming_it(monkeypatch):
    """A bug in one strategy must not silently change which strategy is chosen."""
    _flaky_strategy_4(monkeypatch)
    x, y = _toy()
    with pytest.raises(DataError, match=r"candidate 4 \(.*\) at N = \d+, repeat 0 failed: "
                                        r"MemoryError: simulated") as error:
        chooser.run_search(x, y, x, y, params=TINY, n_classes=2, progress=False)
    assert "choose.skip_failed: true" in str(error.value)


def test_with_skip_failed_a_failing_candidate_is_reported_not_hidden(monkeypatch):
    _flaky_strategy_4(monkeypatch)
    x, y = _toy()
    runs = chooser.run_search(x, y, x, y, params=dataclasses.replace(TINY, skip_failed=True),
                              n_classes=2, progress=False)
    failed = runs[runs["strategy"] == 4]
    assert failed["status"].str.startswith("failed: MemoryError: simulated").all()
    assert failed["macro_f1"].isna().all()
    summary = chooser.summarise(runs)
    assert summary.loc[summary["strategy"] == 4, "failed"].item() == 2
    assert chooser.select(summary, metric="macro_f1")["strategy"] == 0


def test_augmented_training_set_keeps_real_images_and_traces_copies():
    x, y = _toy(n_per_class=(6, 3))
    ids = np.array([100 + i for i in range(len(y))])
    images, manifest = chooser.augmented_training_set(x, y, ids, strategy=4, n=8, seed=0)
    assert (manifest["class_index"].value_counts().sort_index() == [8, 8]).all()
    real = manifest["origin"] == "real"
    assert (images[real.to_numpy()] == x).all()
    assert manifest.loc[real, "source_sample_id"].tolist() == ids.tolist()
    copies = manifest[~real]
    same_class = [y[list(ids).index(s)] for s in copies["source_sample_id"]]
    assert same_class == copies["class_index"].tolist()
    assert (copies["strategy"] == 4).all()
