"""The GANsemble data chooser's four base augmentations, rescaled to any image size.

The paper wrote its strategies for 1167x875 images of spectra drawn as dark polar curves on
white. Our images are square and 32-1167 px wide, so every magnitude given in pixels is kept
here as a fraction of the image width (the paper's value / 1167) and turned back into pixels
for the image at hand: a strategy then moves, hides or magnifies the same share of the picture
at 64 px as at 1167 px. Where the rescaled value is finer than a pixel grid can show, a floor
keeps the operation visible (see the ``*_FLOOR_PX`` constants).

Strategies 1..15 are the 1-, 2-, 3- and 4-way combinations of the base strategies in
``itertools.combinations`` order (5 = 1+2, 7 = 1+4, 15 = all four); 0 is no augmentation.
Every batch function takes and returns an (N, C, H, W) uint8 array, draws its parameters
independently for each image from the Generator it is given, and never writes into its input.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from scipy.ndimage import gaussian_filter, map_coordinates

from ..core.errors import DataError
from .spectra import SPECTRAL_STRATEGIES, SpectralSource, augmented_images, is_spectral

REFERENCE_WIDTH = 1167  # px: width of the paper's images, the unit of its magnitudes
WHITE = 255

ROLL_FRACTION = 270 / REFERENCE_WIDTH  # largest circular shift, either way
FLIP_PROBABILITY = 0.5
ELASTIC_ALPHA = (10 / REFERENCE_WIDTH, 23 / REFERENCE_WIDTH)
ELASTIC_SIGMA = (2.8 / REFERENCE_WIDTH, 3.8 / REFERENCE_WIDTH)
BORDER_FRACTION = 30 / REFERENCE_WIDTH  # white band painted along every edge
ZOOM_RANGE = (1.05, 1.34)  # already a ratio: the same at every size
DISC_COUNT = 40
DISC_RADIUS = (5 / REFERENCE_WIDTH, 10 / REFERENCE_WIDTH)
DISC_SPREAD = 175 / REFERENCE_WIDTH  # disc centres lie within +-this of the image centre
BAR_COUNT = 15
BAR_WIDTH = (2 / REFERENCE_WIDTH, 7 / REFERENCE_WIDTH)
BAR_MARGIN = 200 / REFERENCE_WIDTH  # the authors' code keeps bars this far from the sides

# A Gaussian narrower than about a pixel hardly smooths per-pixel noise, so the "elastic"
# field would scramble neighbouring pixels independently instead of bending the curve.
SIGMA_FLOOR_PX = 1.0
# Disc centres sit on pixel centres, so a radius of half a pixel still whitens the centre
# pixel; a smaller disc (5/1167 of 64 px is 0.27 px) would erase nothing at all.
DISC_RADIUS_FLOOR_PX = 0.5
# Bars are whole columns; a bar narrower than one column would not exist.
BAR_WIDTH_FLOOR_PX = 1
# The price of these two floors: on small images masking hides more than the paper's share
# (the bars whiten about 20 % of the columns at 64 px, 11 % at 128 px, under 6 % at 1167 px).

BatchFunction = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _check_images(images: np.ndarray) -> None:
    if not isinstance(images, np.ndarray) or images.ndim != 4 or images.dtype != np.uint8:
        got = (f"{images.dtype} {images.shape}" if isinstance(images, np.ndarray)
               else type(images).__name__)
        raise DataError(f"expected a uint8 (N, C, H, W) array, got {got}",
                        fix="pass images as prepared by gansemble_lib.data.dataset")


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, WHITE).astype(np.uint8)


def _roll_limit(width: int) -> int:
    """Largest roll in pixels: 270 px at the paper's 1167, about 30 px at 128."""
    return round(ROLL_FRACTION * width)


def _random_rot90(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Turn each image by k*90 degrees, k uniform in 0..3.

    A quarter turn would change the shape of a non-square image, so those get k in {0, 2}
    (the authors instead rotated on a fixed canvas and painted the uncovered sides white).
    """
    n, _, h, w = images.shape
    turns = rng.integers(0, 4, size=n) if h == w else 2 * rng.integers(0, 2, size=n)
    out = np.empty_like(images)
    for k in np.unique(turns):  # only the turns drawn: an empty 90° slice would not fit
        chosen = turns == k
        out[chosen] = np.rot90(images[chosen], k, axes=(2, 3))
    return out


def roll_flip(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strategy 1: circular horizontal shift by up to +-270/1167 of the width, then a 50 % mirror.

    The shift is a whole number of pixels, so each output row is a permutation of its input
    row (no interpolation blur); what leaves one side comes back on the other.
    """
    _check_images(images)
    n, _, _, w = images.shape
    limit = _roll_limit(w)
    shifts = rng.integers(-limit, limit + 1, size=n)
    flips = rng.random(n) < FLIP_PROBABILITY
    cols = (np.arange(w) - shifts[:, None]) % w  # what np.roll(row, shift) reads
    cols = np.where(flips[:, None], cols[:, ::-1], cols)
    return np.take_along_axis(images, cols[:, None, None, :], axis=3)


def _elastic_params(n: int, width: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Per-image (alpha, sigma) in pixels for an image ``width`` wide.

    The field is alpha * (noise smoothed by sigma), and smoothing per-pixel noise shrinks it
    in proportion to 1/sigma_px. Scaling alpha by the width alone would therefore keep the
    displacement's size in *pixels* (too strong on small images); multiplying it by
    sigma_px / sigma_paper as well keeps the displacement at the paper's share of the width,
    also where the sigma floor applies. At 1167 px both are the paper's values exactly.
    """
    alpha_share = rng.uniform(*ELASTIC_ALPHA, size=n)
    sigma_share = rng.uniform(*ELASTIC_SIGMA, size=n)
    sigma = np.maximum(sigma_share * width, SIGMA_FLOOR_PX)
    alpha = alpha_share * width * sigma / (sigma_share * REFERENCE_WIDTH)
    return alpha, sigma


def elastic_border_rotate(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strategy 2: elastic deformation, a white border of 30/1167 of the width, a k*90 turn.

    The deformation displaces every pixel by a Gaussian-smoothed uniform(-1, 1) field times
    alpha (one field for all channels) and samples bilinearly, reading white beyond the edges.
    The border follows the authors' code: the outer band is painted white (hiding the
    deformation's edge effects), not padded and resized.
    """
    _check_images(images)
    n, channels, h, w = images.shape
    alpha, sigma = _elastic_params(n, w, rng)
    band = round(BORDER_FRACTION * w)
    grid = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij")).astype(np.float64)
    out = np.empty_like(images)
    for i in range(n):
        noise = rng.uniform(-1.0, 1.0, size=(2, h, w))
        field = gaussian_filter(noise, sigma=(0, sigma[i], sigma[i]), mode="constant")
        coords = grid + alpha[i] * field
        for c in range(channels):
            out[i, c] = _to_uint8(map_coordinates(images[i, c], coords, order=1,
                                                  mode="constant", cval=WHITE,
                                                  output=np.float32))
    if band:
        out[:, :, :band] = out[:, :, -band:] = WHITE
        out[:, :, :, :band] = out[:, :, :, -band:] = WHITE
    return _random_rot90(out, rng)


def _lerp_along(values: np.ndarray, coords: np.ndarray, axis: int) -> np.ndarray:
    """Linear interpolation of ``values`` at per-image positions ``coords`` (N, M) on ``axis``."""
    size = values.shape[axis]
    low = np.clip(np.floor(coords).astype(np.intp), 0, max(size - 2, 0))
    high = np.minimum(low + 1, size - 1)
    shape = [len(coords), 1, 1, 1]
    shape[axis] = coords.shape[1]
    weight = (coords - low).astype(np.float32).reshape(shape)
    below = np.take_along_axis(values, low.reshape(shape), axis=axis)
    above = np.take_along_axis(values, high.reshape(shape), axis=axis)
    return below * (1 - weight) + above * weight


def _zoom_centre(images: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Magnify image i by factors[i] >= 1 about its centre: crop the central 1/z, resize back.

    Output pixel centres map to ``centre + (x - centre) / z`` (pixel edges to the crop's
    edges), sampled bilinearly one axis at a time; a factor of 1 reproduces the input.
    """
    _, _, h, w = images.shape

    def positions(size: int) -> np.ndarray:
        centre = (size - 1) / 2
        return centre + (np.arange(size) - centre) / factors[:, None]

    rows = _lerp_along(images.astype(np.float32), positions(h), axis=2)
    return _to_uint8(_lerp_along(rows, positions(w), axis=3))


def zoom_rotate(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strategy 3: centre zoom by a factor uniform in 1.05-1.34, then a k*90 turn."""
    _check_images(images)
    factors = rng.uniform(*ZOOM_RANGE, size=len(images))
    return _random_rot90(_zoom_centre(images, factors), rng)


def _scatter(shape: tuple[int, ...], image: np.ndarray, *where: np.ndarray) -> np.ndarray:
    """Mask of ``shape``, True at the in-range points (image, *where)."""
    keep = np.ones(image.shape, dtype=bool)
    for index, size in zip(where, shape[1:], strict=True):
        keep &= (index >= 0) & (index < size)
    mask = np.zeros(shape, dtype=bool)
    mask[(image[keep], *(index[keep] for index in where))] = True
    return mask


def _disc_mask(n: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(n, h, w) mask of DISC_COUNT discs per image near the centre.

    Discs are stamped from a small stencil of offsets, so the cost does not grow with the area.
    """
    radii = np.maximum(rng.uniform(*DISC_RADIUS, size=(n, DISC_COUNT)) * w, DISC_RADIUS_FLOOR_PX)
    spread = DISC_SPREAD * w
    rows = np.rint((h - 1) / 2 + rng.uniform(-spread, spread, size=(n, DISC_COUNT)))
    cols = np.rint((w - 1) / 2 + rng.uniform(-spread, spread, size=(n, DISC_COUNT)))
    reach = int(np.ceil(max(DISC_RADIUS[1] * w, DISC_RADIUS_FLOOR_PX)))
    dy, dx = np.mgrid[-reach:reach + 1, -reach:reach + 1].reshape(2, 1, 1, -1)
    inside = dy**2 + dx**2 <= radii[..., None] ** 2
    image = np.broadcast_to(np.arange(n)[:, None, None], inside.shape)
    y = (rows[..., None] + dy).astype(np.intp)
    x = (cols[..., None] + dx).astype(np.intp)
    return _scatter((n, h, w), image[inside], y[inside], x[inside])


def _bar_mask(n: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """(n, w) mask of BAR_COUNT vertical bars per image.

    Widths are whole pixels, uniform between the rescaled 2 and 7 px (so exactly the paper's
    2..7 at 1167 px); left edges are uniform among the positions that keep the bar inside the
    central band the authors' code allowed (200/1167 of the width from either side).
    """
    low, high = (max(round(b * w), BAR_WIDTH_FLOOR_PX) for b in BAR_WIDTH)
    widths = rng.integers(low, high + 1, size=(n, BAR_COUNT))
    margin = round(BAR_MARGIN * w)
    lefts = rng.integers(margin, np.maximum(w - margin - widths, margin) + 1)
    offsets = np.arange(high)
    covered = np.broadcast_to(offsets < widths[..., None], (n, BAR_COUNT, high))
    image = np.broadcast_to(np.arange(n)[:, None, None], covered.shape)
    x = lefts[..., None] + offsets
    return _scatter((n, w), image[covered], np.broadcast_to(x, covered.shape)[covered])


def mask_discs_bars(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strategy 4: whiten 40 small discs near the centre and 15 full-height vertical bars."""
    _check_images(images)
    n, _, h, w = images.shape
    hidden = _disc_mask(n, h, w, rng) | _bar_mask(n, w, rng)[:, None, :]
    return np.where(hidden[:, None], np.uint8(WHITE), images)


BASE_STRATEGIES: dict[int, tuple[str, BatchFunction]] = {
    1: ("roll+flip", roll_flip),
    2: ("elastic+border+rot90", elastic_border_rotate),
    3: ("zoom+rot90", zoom_rotate),
    4: ("discs+bars mask", mask_discs_bars),
}
STRATEGIES: dict[int, tuple[int, ...]] = {0: ()} | dict(enumerate(
    (combo for r in range(1, len(BASE_STRATEGIES) + 1)
     for combo in itertools.combinations(BASE_STRATEGIES, r)), start=1))
# Every strategy number: the paper's image strategies, then the spectral family (16-18).
ALL_STRATEGIES: tuple[int, ...] = (*STRATEGIES, *SPECTRAL_STRATEGIES)

# What each base strategy does to the *meaning* of a polar spectrum, whose angle is the
# wavenumber and whose radius is the intensity. Only a strategy that keeps both keeps the label.
MEANING: dict[int, tuple[bool, str]] = {
    1: (False, "rolling moves the curve off the centre and flipping mirrors the angle: bands "
               "land at other wavenumbers"),
    2: (False, "a quarter turn adds 90 degrees to every angle: every band moves by a quarter "
               "of the wavenumber range"),
    3: (False, "a quarter turn moves every band; zooming also rescales intensity"),
    4: (True, "masking hides small parts of the curve and moves nothing"),
}


def preserves_meaning(strategy: int) -> bool:
    """Does the strategy keep what a polar spectrum says (bands at their wavenumbers)?"""
    _check_strategy(strategy)
    if is_spectral(strategy):
        return True
    return all(MEANING[base][0] for base in STRATEGIES[strategy])


def meaning_table() -> list[dict]:
    """One row per base strategy and spectral strategy: label-preserving or not, and why."""
    rows = [{"strategy": name, "family": "image (the paper)", "keeps the label": MEANING[b][0],
             "why": MEANING[b][1]} for b, (name, _) in BASE_STRATEGIES.items()]
    rows += [{"strategy": " + ".join(steps), "family": "spectral (applied before rendering)",
              "keeps the label": True,
              "why": "changes a real measurement of the same material shows"}
             for steps in SPECTRAL_STRATEGIES.values()]
    return rows


def _check_strategy(strategy: int) -> None:
    if strategy not in ALL_STRATEGIES:
        raise DataError(f"unknown augmentation strategy {strategy!r}",
                        fix=f"use one of {min(ALL_STRATEGIES)}..{max(ALL_STRATEGIES)} (0-15: "
                            "the paper's image strategies, 16-18: spectral)")


def strategy_name(strategy: int) -> str:
    """Readable label, e.g. ``"7: roll+flip + discs+bars mask"`` or ``"0: none"``."""
    _check_strategy(strategy)
    if is_spectral(strategy):
        return f"{strategy}: {' + '.join(SPECTRAL_STRATEGIES[strategy])}"
    parts = [BASE_STRATEGIES[base][0] for base in STRATEGIES[strategy]]
    return f"{strategy}: {' + '.join(parts) or 'none'}"


def base_count(strategy: int) -> int:
    """How many base operations a strategy combines (the chooser prefers fewer on ties)."""
    _check_strategy(strategy)
    return len(SPECTRAL_STRATEGIES[strategy] if is_spectral(strategy) else STRATEGIES[strategy])


def _apply(images: np.ndarray, strategy: int, rng: np.random.Generator) -> np.ndarray:
    _check_images(images)
    _check_strategy(strategy)
    if is_spectral(strategy):
        raise DataError(f"strategy {strategy} augments spectra, not images",
                        fix="use oversample(..., source=SpectralSource.of(prepared, subset))")
    out = images.copy()  # strategy 0 must still hand back an array of its own
    for base in STRATEGIES[strategy]:
        out = BASE_STRATEGIES[base][1](out, rng)
    return out


def augment(images: np.ndarray, strategy: int, *,
            seed: int | np.random.SeedSequence) -> np.ndarray:
    """Apply strategy ``strategy``'s base functions in order; the same seed, the same output."""
    return _apply(images, strategy, np.random.default_rng(seed))


def oversample(images: np.ndarray, labels: np.ndarray, *, target: int, strategy: int,
               seed: int | np.random.SeedSequence, source: SpectralSource | None = None,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top every class up to ``target`` images with augmented copies of its own images.

    A class with n < target images gains target - n copies of originals drawn uniformly with
    replacement; larger classes gain nothing and no real image is ever dropped. Returns
    (images, labels, parent_index): the originals first in their order (parent -1), then
    the copies grouped by class (parent = index of the source image). With strategy 0 the
    copies are exact duplicates, i.e. plain random oversampling. The spectral strategies
    (16-18) augment ``source``'s spectra of the drawn images and render them.
    """
    _check_images(images)
    labels = np.asarray(labels)
    if labels.shape != (len(images),):
        raise DataError(f"{labels.shape} labels for {len(images)} images",
                        fix="pass one label per image")
    if int(target) != target or target < 0:
        raise DataError(f"target={target!r} is not a count", fix="use an integer >= 0")
    _check_strategy(strategy)
    rng = np.random.default_rng(seed)
    picks = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) < target:
            picks.append(rng.choice(members, size=int(target) - len(members)))
    parents = np.concatenate(picks) if picks else np.empty(0, dtype=np.intp)
    copies = (augmented_images(source, labels, parents, strategy, rng) if is_spectral(strategy)
              else _apply(images[parents], strategy, rng))
    return (np.concatenate([images, copies]), np.concatenate([labels, labels[parents]]),
            np.concatenate([np.full(len(images), -1, dtype=np.intp), parents]))
