"""SYMP-Filter and the strong filter on constructed images with known answers."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from torch import nn

from gansemble_lib.core.constants import CLASS_INDEX
from gansemble_lib.evaluation import filter_sets as fsets
from gansemble_lib.evaluation import filter_summary as fsum
from gansemble_lib.evaluation import symp_filter as sf
from gansemble_lib.evaluation.neighbours import pixel_features
from tests.conftest import REPO


def inked(ink_pixels: list[int], size: int = 8) -> np.ndarray:
    """White (N, 1, size, size) images; image i has its first ink_pixels[i] pixels black."""
    images = np.full((len(ink_pixels), 1, size, size), 255, dtype=np.uint8)
    for i, count in enumerate(ink_pixels):
        images[i, 0].reshape(-1)[:count] = 0
    return images


def one_pool(images: np.ndarray, class_index: int = 0) -> sf.Pool:
    n = len(images)
    return sf.Pool(images, np.full(n, class_index), np.zeros(n, dtype=int))


def test_density_counts_ink_in_fully_dark_pixels():
    images = inked([0, 3, 64])
    images[0, 0, 4, 4] = 128  # half-grey pixel: about half a pixel of ink
    assert sf.density(images) == pytest.approx([127 / 255, 3.0, 64.0])


def test_corner_region_sees_only_the_four_corner_squares():
    mask = sf.corner_mask(8, 8, 0.25)
    assert mask.sum() == 4 * 2 * 2 and mask[0, 0] and mask[7, 7] and not mask[3, 3]
    centre, corner = inked([0, 0]), inked([0, 0])
    centre[0, 0, 3:5, 3:5] = 0
    corner[1, 0, 7, 0] = 0
    both = np.concatenate([centre[:1], corner[1:]])
    assert sf.density(both, region="corners", corner_fraction=0.25) == pytest.approx([0, 1])
    assert sf.density(both) == pytest.approx([4, 1])


def test_symp_keeps_the_least_ink_by_default_and_the_most_with_high():
    pool = one_pool(inked([5, 1, 3, 0, 4, 2]))
    low = sf.symp_filter(pool, keep=2)
    assert set(np.flatnonzero(low[sf.KEPT])) == {3, 1}
    assert set(low.loc[~low[sf.KEPT], sf.REASON]) == {sf.RANKED_OUT}
    high = sf.symp_filter(pool, keep=2, direction="high")
    assert set(np.flatnonzero(high[sf.KEPT])) == {0, 4}


def test_symp_ranks_within_each_class_and_round():
    images = inked([9, 1, 8, 2, 7, 3, 6, 4])
    pool = sf.Pool(images, np.array([0, 0, 0, 0, 1, 1, 1, 1]), np.array([0, 0, 1, 1] * 2))
    kept = sf.symp_filter(pool, keep=1)
    assert list(np.flatnonzero(kept[sf.KEPT])) == [1, 3, 5, 7]


def test_symp_with_corners_rejects_corner_artefacts():
    clean, dirty = inked([0, 0]), inked([0, 0])
    clean[:, 0, 3:5, 3:5] = 0  # a curve in the middle
    dirty[:, 0, 3:5, 3:5] = 0
    dirty[:, 0, 0, 0] = 0  # plus a blot in a corner
    pool = one_pool(np.concatenate([dirty, clean]))
    kept = sf.symp_filter(pool, keep=2, region="corners", corner_fraction=0.25)
    assert list(np.flatnonzero(kept[sf.KEPT])) == [2, 3]


def test_no_filter_keeps_the_first_of_each_pool():
    pool = sf.Pool(inked([1] * 6), np.zeros(6, dtype=int), np.array([0, 0, 0, 1, 1, 1]))
    table = sf.no_filter(pool, keep=2)
    assert list(table[sf.KEPT]) == [True, True, False, True, True, False]
    assert set(table.loc[~table[sf.KEPT], sf.REASON]) == {sf.SURPLUS}


class SeedStamp:
    """A stand-in generator: each image's first pixel row holds (class, seed mod 256, index)."""

    classes = ("a", "b")
    image_shape = (1, 4, 4)

    def generate(self, class_index, n, seed):
        images = np.full((n, 1, 4, 4), 255, dtype=np.uint8)
        images[:, 0, 0, 0] = class_index
        images[:, 0, 0, 1] = seed % 256
        images[:, 0, 0, 2] = np.arange(n)
        return images


def test_draw_pool_is_seeded_fresh_per_round_and_reproducible():
    pool = sf.draw_pool(SeedStamp(), n_classes=2, pool_size=3, rounds=2, seed=7)
    assert pool.images.shape == (12, 1, 4, 4)
    assert list(pool.labels) == [0] * 6 + [1] * 6
    assert list(pool.rounds) == [0, 0, 0, 1, 1, 1] * 2
    seeds = {(k, r): pool.images[(pool.labels == k) & (pool.rounds == r), 0, 0, 1][0]
             for k in range(2) for r in range(2)}
    assert len(set(seeds.values())) == 4
    again = sf.draw_pool(SeedStamp(), n_classes=2, pool_size=3, rounds=2, seed=7)
    assert np.array_equal(pool.images, again.images)


class InkVotes(nn.Module):
    """A stub classifier whose one feature is the ink total; logits (ink - 2, 0)."""

    def __init__(self):
        super().__init__()
        self.out = nn.Linear(1, 2)
        with torch.no_grad():
            self.out.weight.copy_(torch.tensor([[1.0], [0.0]]))
            self.out.bias.copy_(torch.tensor([-2.0, 0.0]))

    def forward(self, x):
        return self.out(x.flatten(1).sum(1, keepdim=True))


def test_strong_filter_rejects_each_kind_with_its_reason():
    train = inked([10, 20, 30], size=8)
    checks = sf.StrongChecks(classifier=InkVotes(), size=8, reference=pixel_features(train, 8),
                             feature_reference=np.array([[10.0], [20.0], [30.0]]), tau=0.5,
                             copy_threshold=0.5, outlier_threshold=10.0)
    copy = train[1:2].copy()
    outlier = inked([64])  # 34 ink pixels more than any training image
    doubtful = inked([15])
    doubtful[0, 0].reshape(-1)[:15] = 230  # 15 faint pixels: little ink, low class-0 logit
    good = inked([12, 25, 14])
    images = np.concatenate([copy, outlier, doubtful, good])
    table = sf.strong_filter(one_pool(images), checks, keep=2)
    assert list(table[sf.REASON]) == [sf.NEAR_COPY, sf.OUTLIER, sf.LOW_CONFIDENCE,
                                      sf.SURPLUS, sf.KEPT_REASON, sf.KEPT_REASON]
    assert table[sf.SCORE].between(0, 1).all() and (table[sf.NN_DISTANCE] >= 0).all()
    assert table.loc[0, sf.NN_DISTANCE] == pytest.approx(0.0)
    assert list(table[sf.FEATURE_DISTANCE]) == pytest.approx([0, 34, 10 - 15 * 25 / 255, 2, 5, 4],
                                                            abs=1e-5)


def test_outliers_are_judged_in_feature_space_and_copies_in_pixel_space():
    train = inked([10, 20, 30], size=8)
    moved = np.full((1, 1, 8, 8), 255, dtype=np.uint8)
    moved[0, 0].reshape(-1)[-20:] = 0  # a training image's ink, drawn elsewhere
    checks = sf.StrongChecks(classifier=InkVotes(), size=8, reference=pixel_features(train, 8),
                             feature_reference=np.array([[10.0], [20.0], [30.0]]), tau=0.5,
                             copy_threshold=0.5, outlier_threshold=1.0)
    table = sf.strong_filter(one_pool(moved), checks, keep=1)
    assert table.loc[0, sf.NN_DISTANCE] > 4  # far in pixels: not a copy ...
    assert table.loc[0, sf.FEATURE_DISTANCE] == pytest.approx(0.0)  # ... and not an outlier
    assert list(table[sf.REASON]) == [sf.KEPT_REASON]


def test_thresholds_come_from_real_train_and_validation_distances():
    train = inked([0, 4, 8, 16], size=8)  # pixel leave-one-out distances: 2, 2, 2, sqrt(8)
    val = inked([2, 40], size=8)  # nearest-train distances in the ink feature: 2 and 24
    checks = sf.build_checks(InkVotes(), train, val, size=8, tau=0.5, copy_quantile=0.0,
                             outlier_quantile=1.0)
    assert checks.copy_threshold == pytest.approx(2.0)
    assert checks.outlier_threshold == pytest.approx(24.0)
    assert checks.feature_reference[:, 0] == pytest.approx([0, 4, 8, 16])


@pytest.mark.parametrize("name, dim", [("lenet", 84), ("resnet", 64), ("resnet18", 512)])
def test_embed_returns_what_the_last_linear_layer_sees(name, dim):
    from gansemble_lib.evaluation.classifiers import make_classifier

    torch.manual_seed(0)
    model = make_classifier(name, in_channels=1, n_classes=3, size=32)
    images = inked([0, 100, 300, 500], size=32)
    features = sf.embed(model, images, size=32, batch_size=3)
    assert features.shape == (4, dim)
    assert np.allclose(features, sf.embed(model, images, size=32, batch_size=4), atol=1e-5)
    with pytest.raises(ValueError, match="no nn.Linear"):
        sf.embed(nn.Sequential(nn.Flatten()), images, size=32)


def test_summary_accounts_for_every_pooled_image():
    table = sf.symp_filter(sf.Pool(inked([3, 1, 2, 5]), np.array([0, 0, 1, 1]),
                                   np.zeros(4, dtype=int)), keep=1)
    summary = fsum.summarise(table, ("a", "b", "c"))
    assert list(summary["pooled"]) == [2, 2, 0]
    assert list(summary[sf.KEPT_REASON]) == [1, 1, 0]
    reasons = summary[list(sf.REASONS)].sum(axis=1)
    assert (reasons == summary["pooled"]).all()


def test_kept_set_round_trips_through_npz(tmp_path):
    pool = one_pool(inked([3, 1, 2]), class_index=1)
    table = sf.symp_filter(pool, keep=2)
    images, labels = fsets.kept_set(pool, table)
    fsets.save_set(tmp_path / "s.npz", images, labels, ("a", "b"), source="x", filter="symp")
    back, back_labels, classes = fsets.load_set(tmp_path / "s.npz")
    assert np.array_equal(back, images) and list(back_labels) == [1, 1]
    assert classes == ("a", "b")


def test_kept_rejected_rows_leave_out_surplus():
    pool = sf.Pool(inked([1] * 4), np.zeros(4, dtype=int), np.zeros(4, dtype=int))
    rows = fsum.kept_rejected_rows(pool, sf.no_filter(pool, keep=2), ("a",), per_row=3)
    assert len(rows["a kept"]) == 2 and len(rows["a rejected"]) == 0


@pytest.mark.parametrize(("bad", "named"), [
    ({"keep": 0}, "keep"), ({"keep": 1, "direction": "up"}, "direction"),
    ({"keep": 1, "region": "edges"}, "region"),
    ({"keep": 1, "region": "corners", "corner_fraction": 0.7}, "corner_fraction")])
def test_bad_settings_fail_with_the_setting_named(bad, named):
    with pytest.raises(ValueError, match=named):
        sf.symp_filter(one_pool(inked([1, 2])), **bad)


def test_domain_classifier_is_seeded():
    images = np.concatenate([inked([5] * 6), inked([40] * 6)])
    labels = np.array([0] * 6 + [1] * 6)
    models = [sf.train_domain_classifier(images, labels, n_classes=2, size=8, epochs=3, seed=1)
              for _ in range(2)]
    for a, b in zip(models[0].state_dict().values(), models[1].state_dict().values(),
                    strict=True):
        assert torch.equal(a, b)
    assert CLASS_INDEX in sf.no_filter(one_pool(images), keep=1).columns


def test_budget_check_refuses_a_filter_that_cannot_reject():
    sf.check_budget(pool_size=30, keep=3)
    with pytest.raises(ValueError, match="smaller than pool_size"):
        sf.check_budget(pool_size=3, keep=3)


def test_sets_made_for_other_classes_are_refused(tmp_path):
    pool = one_pool(inked([1, 2, 3]))
    rows = fsets.save_filtered_sets(tmp_path, "gen", pool, {"none": sf.no_filter(pool, keep=1)},
                                 ("a", "b"))
    fsets.write_index(tmp_path, rows)
    assert (tmp_path / "gen__decisions.csv").is_file()
    (images, labels), = fsets.load_sets(tmp_path, ("a", "b")).values()
    assert len(images) == 1 and list(labels) == [0]
    with pytest.raises(ValueError, match="rerun the symp_filter stage"):
        fsets.load_sets(tmp_path, ("a", "c"))


@pytest.mark.parametrize("path", [
    "gansemble_lib/evaluation/symp_filter.py", "gansemble_lib/generators/sources.py",
    "gansemble_lib/evaluation/neighbours.py", "notebooks/04_symp_filter.py"])
def test_the_filter_stage_never_reads_the_test_split(path):
    source = (REPO / path).read_text(encoding="utf-8")
    assert "test_for_evaluation" not in source and not re.findall(r"\bTEST\b", source)


def test_summary_table_totals_feed_the_metrics_record():
    pool = sf.Pool(inked([3, 1, 2, 5]), np.array([0, 0, 1, 1]), np.zeros(4, dtype=int))
    summaries = {("gen", "symp"): fsum.summarise(sf.symp_filter(pool, keep=1), ("a", "b"))}
    table = fsum.summary_table(summaries)
    totals = table.xs(fsum.TOTAL_INDEX, level=CLASS_INDEX)
    assert totals.loc[("gen", "symp"), "pooled"] == 4
    record = fsum.counts_record(totals)
    assert record["kept"] == {"gen/symp": 2}
    assert record["rejected"]["gen/symp"][sf.RANKED_OUT] == 2
