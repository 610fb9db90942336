"""Invariants of the data chooser's augmentations (gansemble_lib.augment.images)."""

from __future__ import annotations

import numpy as np
import pytest

from gansemble_lib.augment import images as aug

ALL = sorted(aug.STRATEGIES)
BASE = list(aug.BASE_STRATEGIES.values())


def sparse_ink(n: int = 4, channels: int = 1, h: int = 64, w: int = 64,
               seed: int = 0) -> np.ndarray:
    """White images with scattered dark pixels: no symmetry a rotation or shift could hide."""
    rng = np.random.default_rng(seed)
    ink = rng.integers(0, 200, size=(n, channels, h, w))
    return np.where(rng.random((n, 1, h, w)) < 0.15, ink, 255).astype(np.uint8)


def test_strategy_table_is_the_papers_itertools_order():
    assert len(aug.STRATEGIES) == 16 and aug.STRATEGIES[0] == ()
    assert [aug.STRATEGIES[k] for k in (1, 4, 5, 6, 7, 11, 14, 15)] == [
        (1,), (4,), (1, 2), (1, 3), (1, 4), (1, 2, 3), (2, 3, 4), (1, 2, 3, 4)]
    assert aug.strategy_name(7) == "7: roll+flip + discs+bars mask"
    assert aug.strategy_name(0) == "0: none"


@pytest.mark.parametrize("bad", [-1, 19, 99])
def test_unknown_strategy_is_refused_with_the_valid_numbers(bad):
    with pytest.raises(ValueError, match=r"0\.\.18"):
        aug.augment(sparse_ink(), bad, seed=0)


def test_a_spectral_strategy_on_images_alone_says_it_needs_spectra():
    with pytest.raises(ValueError, match="augments spectra"):
        aug.augment(sparse_ink(), 16, seed=0)
    images = sparse_ink(2)
    with pytest.raises(ValueError, match="these data are images"):
        aug.oversample(images, np.array([0, 0]), target=3, strategy=17, seed=0)


def test_only_masking_and_the_spectral_family_keep_the_meaning_of_a_polar_spectrum():
    keeps = {s for s in (*aug.STRATEGIES, 16, 17, 18) if aug.preserves_meaning(s)}
    assert keeps == {0, 4, 16, 17, 18}  # 0 (no change) and 4 (masking) among the paper's
    table = aug.meaning_table()
    assert [r["keeps the label"] for r in table] == [False, False, False, True, True, True, True]


def test_magnitudes_are_the_papers_at_1167_px_and_scale_with_width():
    assert aug._roll_limit(1167) == 270
    assert aug._roll_limit(128) == 30
    assert aug._roll_limit(64) == 15
    for share, paper in [(aug.ELASTIC_ALPHA, (10, 23)), (aug.ELASTIC_SIGMA, (2.8, 3.8)),
                         (aug.DISC_RADIUS, (5, 10)), (aug.BAR_WIDTH, (2, 7))]:
        np.testing.assert_allclose(np.multiply(share, aug.REFERENCE_WIDTH), paper)


def test_elastic_parameters_keep_the_papers_share_of_the_width():
    # At 1167 px they are the paper's; at 64 px sigma hits its floor, yet the displacement
    # scale alpha / sigma, as a share of the width, stays within the paper's range.
    rng = np.random.default_rng(0)
    alpha, sigma = aug._elastic_params(1000, 1167, rng)
    assert 10 <= alpha.min() and alpha.max() <= 23 and 2.8 <= sigma.min() and sigma.max() <= 3.8
    paper_share = np.array([10 / 3.8, 23 / 2.8]) / 1167
    alpha, sigma = aug._elastic_params(1000, 64, rng)
    assert np.all(sigma == aug.SIGMA_FLOOR_PX)
    share = alpha / sigma / 64
    assert paper_share[0] <= share.min() and share.max() <= paper_share[1]


def test_roll_permutes_each_row_by_one_circular_shift_or_its_mirror():
    images = sparse_ink(n=40, channels=3, h=128, w=128, seed=1)
    out = aug.roll_flip(images, np.random.default_rng(2))
    limit, seen_flips = aug._roll_limit(128), set()
    for before, after in zip(images, out, strict=True):
        matches = [(s, flip) for s in range(-limit, limit + 1) for flip in (False, True)
                   if np.array_equal(after, np.roll(before, s, axis=2)[..., ::-1] if flip
                                     else np.roll(before, s, axis=2))]
        assert matches, "an output image is no whole-image circular shift (+ mirror) of its input"
        seen_flips.add(matches[0][1])
    assert seen_flips == {False, True}


def test_masking_only_whitens():
    images = sparse_ink(n=20, channels=3)
    out = aug.mask_discs_bars(images, np.random.default_rng(0))
    changed = out != images
    assert changed.any()
    assert np.all(out >= images) and np.all(out[changed] == 255)
    # bars are full height: every column the mask touched in a row is touched in all rows
    whitened = (changed | (images == 255)).all(axis=1)
    assert whitened.all(axis=1).any(axis=1).all()


@pytest.mark.parametrize("strategy", ALL)
def test_every_strategy_keeps_shape_dtype_and_leaves_the_input_alone(strategy):
    images = sparse_ink(channels=3)
    before = images.copy()
    out = aug.augment(images, strategy, seed=3)
    assert out.shape == images.shape and out.dtype == np.uint8
    assert out is not images and not np.shares_memory(out, images)
    np.testing.assert_array_equal(images, before)


@pytest.mark.parametrize("strategy", ALL)
def test_an_all_white_image_stays_white(strategy):
    white = np.full((3, 3, 48, 48), 255, dtype=np.uint8)
    assert np.all(aug.augment(white, strategy, seed=strategy) == 255)


@pytest.mark.parametrize("strategy", ALL[1:])
def test_same_seed_same_output_other_seed_other_output(strategy):
    images = sparse_ink()
    first = aug.augment(images, strategy, seed=np.random.SeedSequence([5, strategy]))
    again = aug.augment(images, strategy, seed=np.random.SeedSequence([5, strategy]))
    other = aug.augment(images, strategy, seed=np.random.SeedSequence([6, strategy]))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize(("name", "function"), BASE, ids=[name for name, _ in BASE])
def test_non_square_images_keep_their_shape(name, function):
    images = sparse_ink(n=8, h=48, w=80)
    assert function(images, np.random.default_rng(0)).shape == images.shape, name


def test_zoom_by_one_is_the_identity_and_by_two_halves_a_ramp():
    images = sparse_ink(n=3, channels=3, h=40, w=64)
    np.testing.assert_array_equal(aug._zoom_centre(images, np.ones(3)), images)
    ramp = np.broadcast_to(np.arange(0, 128, 2, dtype=np.uint8), (1, 1, 64, 64))
    zoomed = aug._zoom_centre(ramp, np.array([2.0]))
    expected = 63 + (np.arange(64) - 31.5) * 1.0  # slope 2 per pixel becomes 1 about the centre
    assert np.abs(zoomed[0, 0].astype(float) - expected).max() <= 0.5


def test_quarter_turns_only_rearrange_pixels():
    images = sparse_ink(n=30, channels=3)
    out = aug._random_rot90(images, np.random.default_rng(0))
    turns = [next(k for k in range(4) if np.array_equal(o, np.rot90(i, k, axes=(1, 2))))
             for i, o in zip(images, out, strict=True)]
    assert set(turns) == {0, 1, 2, 3}
    tall = sparse_ink(n=30, h=48, w=64)
    out = aug._random_rot90(tall, np.random.default_rng(0))
    assert all(np.array_equal(o, i) or np.array_equal(o, i[:, ::-1, ::-1])
               for i, o in zip(tall, out, strict=True))


def test_elastic_paints_a_white_border_and_barely_moves_the_rest():
    black = np.zeros((4, 1, 128, 128), dtype=np.uint8)
    out = aug.elastic_border_rotate(black, np.random.default_rng(0))
    band = round(aug.BORDER_FRACTION * 128)
    assert band == 3
    assert np.all(out[:, :, :band] == 255) and np.all(out[:, :, :, -band:] == 255)
    assert np.all(out[:, :, band + 1:-band - 1, band + 1:-band - 1] == 0)


@pytest.fixture
def classes():
    labels = np.array([2, 0, 0, 1, 2, 2, 2, 0, 2, 2])  # class sizes 3, 1, 6
    return sparse_ink(n=len(labels), seed=4), labels


def test_oversample_tops_classes_up_from_their_own_images(classes):
    images, labels = classes
    out, out_labels, parents = aug.oversample(images, labels, target=5, strategy=4, seed=0)
    assert np.array_equal(np.bincount(out_labels), [5, 5, 6])  # max(n, target)
    np.testing.assert_array_equal(out[:10], images)
    np.testing.assert_array_equal(out_labels[:10], labels)
    assert np.all(parents[:10] == -1)
    copies = parents[10:]
    assert np.all((copies >= 0) & (copies < 10))
    np.testing.assert_array_equal(labels[copies], out_labels[10:])
    assert list(out_labels[10:]) == sorted(out_labels[10:])  # grouped by class


def test_oversample_with_strategy_0_duplicates_and_is_deterministic(classes):
    images, labels = classes
    out, _, parents = aug.oversample(images, labels, target=8, strategy=0, seed=1)
    np.testing.assert_array_equal(out[10:], images[parents[10:]])
    for strategy in (0, 15):
        first = aug.oversample(images, labels, target=8, strategy=strategy, seed=7)
        again = aug.oversample(images, labels, target=8, strategy=strategy, seed=7)
        for a, b in zip(first, again, strict=True):
            np.testing.assert_array_equal(a, b)


def test_oversample_below_every_class_size_adds_nothing(classes):
    images, labels = classes
    out, out_labels, parents = aug.oversample(images, labels, target=1, strategy=7, seed=0)
    np.testing.assert_array_equal(out, images)
    np.testing.assert_array_equal(out_labels, labels)
    assert np.all(parents == -1)
