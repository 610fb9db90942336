from collections import Counter

import numpy as np
import pytest

from gansemble_lib.core.constants import PAPER_CLASS_COUNTS, TEST, TRAIN, UNUSED, VAL
from gansemble_lib.core.errors import DataError
from gansemble_lib.data.splits import apply_profile, profile_targets, stratified_split

PAPER_COUNTS = tuple(PAPER_CLASS_COUNTS.values())

PAPER_LABELS = [f"c{k}" for k, n in enumerate(PAPER_COUNTS) for _ in range(n)]


def test_every_class_in_every_split_and_fractions_respected():
    splits = stratified_split(PAPER_LABELS, test_fraction=0.2, val_fraction=0.15, seed=3)
    labels = np.array(PAPER_LABELS)
    for name, n in Counter(PAPER_LABELS).items():
        mine = splits[labels == name]
        counts = Counter(mine.tolist())
        assert counts[TEST] >= 1 and counts[VAL] >= 1 and counts[TRAIN] >= 1
        assert counts[TEST] == max(1, round(0.2 * n)) or n - 1 < 2 + round(0.2 * n)
        assert sum(counts.values()) == n


def test_split_is_deterministic_and_seed_dependent():
    a = stratified_split(PAPER_LABELS, test_fraction=0.2, val_fraction=0.15, seed=0)
    b = stratified_split(PAPER_LABELS, test_fraction=0.2, val_fraction=0.15, seed=0)
    c = stratified_split(PAPER_LABELS, test_fraction=0.2, val_fraction=0.15, seed=1)
    assert (a == b).all() and not (a == c).all()


def test_three_samples_give_one_of_each():
    splits = stratified_split(["x"] * 3, test_fraction=0.4, val_fraction=0.4, seed=0)
    assert sorted(splits.tolist()) == sorted([TRAIN, VAL, TEST])


def test_class_with_one_sample_is_a_clear_error():
    with pytest.raises(DataError, match="class 'lonely' has 1 sample"):
        stratified_split(["a"] * 5 + ["lonely"], test_fraction=0.2, val_fraction=0.2, seed=0)


def test_natural_profile_keeps_everything():
    avail = {"a": 10, "b": 3}
    assert profile_targets(avail, "natural") == avail


def test_paper_profile_reproduces_paper_ratios_on_paper_sized_data():
    avail = {f"c{k}": n for k, n in enumerate(PAPER_COUNTS)}
    assert profile_targets(avail, "paper") == avail


def test_exponential_profile_hits_the_ratio_and_never_exceeds_availability():
    avail = {f"c{k}": 40 for k in range(5)}
    targets = profile_targets(avail, "exponential", ratio=8.0)
    values = sorted(targets.values(), reverse=True)
    assert values[0] == 40 and values[-1] == 5  # 40 / 8
    assert all(targets[c] <= avail[c] for c in avail)
    assert values == sorted(values, reverse=True)


def test_apply_profile_only_touches_train_and_marks_unused():
    labels = np.array(["a"] * 30 + ["b"] * 30)
    splits = stratified_split(labels, test_fraction=0.2, val_fraction=0.2, seed=0)
    out = apply_profile(labels, splits, "exponential", ratio=4.0, seed=0)
    assert (out[splits != TRAIN] == splits[splits != TRAIN]).all()
    kept = Counter(labels[out == TRAIN].tolist())
    assert max(kept.values()) / min(kept.values()) == pytest.approx(4.0, rel=0.15)
    assert (out == UNUSED).sum() == (splits == TRAIN).sum() - sum(kept.values())


def test_unknown_profile():
    with pytest.raises(DataError, match="use one of: natural, paper, exponential"):
        profile_targets({"a": 3}, "uniform")
