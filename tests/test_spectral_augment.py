"""Label-preserving spectral augmentation (strategies 16-18): what it may and may not change."""

from __future__ import annotations

import numpy as np
import pytest

from gansemble_lib.augment import images as aug
from gansemble_lib.augment import spectra as sa
from gansemble_lib.core.config import PrepareParams, SpectralAugmentParams
from gansemble_lib.core.errors import DataError

BOUNDS = SpectralAugmentParams()  # params.yaml's spectral_augment section at its defaults

AXIS = np.linspace(400.0, 3200.0, 701)  # 4 cm^-1 per point


def band(centre: float, width: float = 12.0) -> np.ndarray:
    return np.exp(-0.5 * ((AXIS - centre) / width) ** 2)


def source(spectra: np.ndarray) -> sa.SpectralSource:
    return sa.SpectralSource(spectra, AXIS, PrepareParams(image_size=32), BOUNDS)


def test_jitter_moves_a_band_by_at_most_the_declared_shift_and_leaves_its_input_alone():
    spectra = np.stack([band(1000.0), band(2000.0)] * 20)
    before = spectra.copy()
    out = sa.jitter(spectra, AXIS, np.random.default_rng(0), BOUNDS)
    assert out.shape == spectra.shape
    np.testing.assert_array_equal(spectra, before)
    peaks = AXIS[out.argmax(axis=1)] - AXIS[spectra.argmax(axis=1)]
    step = AXIS[1] - AXIS[0]
    assert np.abs(peaks).max() <= BOUNDS.shift_cm + step  # the band stays where it belongs
    assert not np.allclose(out, spectra)  # and something did change
    again = sa.jitter(spectra, AXIS, np.random.default_rng(0), BOUNDS)
    np.testing.assert_array_equal(out, again)


def test_mixup_mixes_spectra_of_the_same_class_only():
    # class 0 has bands at 1000 or 1100, class 1 at 2500: a class-1 copy must never gain a
    # band near 1000-1100, a class-0 copy never one near 2500
    spectra = np.stack([band(1000.0), band(1100.0), band(2500.0), band(2500.0, 20.0)])
    labels = np.array([0, 0, 1, 1])
    parents = np.repeat(np.arange(4), 10)
    out = sa.augmented_spectra(source(spectra), labels, parents, 17, np.random.default_rng(1))
    low, high = (AXIS > 950) & (AXIS < 1150), (AXIS > 2400) & (AXIS < 2600)
    assert out[labels[parents] == 1][:, low].max() < 1e-6
    assert out[labels[parents] == 0][:, high].max() < 1e-6
    mixed = out[labels[parents] == 0]
    assert ((mixed[:, AXIS == 1000.0] > 0.15) & (mixed[:, AXIS == 1100.0] > 0.15)).any()


def test_the_augmentation_source_of_stage_04_augments_spectra_for_a_spectral_pick():
    from gansemble_lib.data.polar import render_spectra
    from gansemble_lib.generators.sources import AugmentationSource

    spectra = np.stack([band(800.0 + 40 * i) for i in range(6)])
    labels = np.array([0, 0, 0, 1, 1, 1])
    images = render_spectra(spectra, PrepareParams(image_size=32))
    made = AugmentationSource(images, labels, ("a", "b"), 18, source(spectra)).generate(1, 4, 0)
    assert made.shape == (4, 1, 32, 32) and made.dtype == np.uint8
    with pytest.raises(ValueError, match="these data are images"):
        AugmentationSource(images, labels, ("a", "b"), 16).generate(1, 4, 0)


@pytest.mark.parametrize("strategy", [16, 17, 18])
def test_oversample_renders_spectral_copies_like_the_real_images(strategy):
    spectra = np.stack([band(800.0 + 40 * i) for i in range(6)])
    labels = np.array([0, 0, 0, 1, 1, 1])
    from gansemble_lib.data.polar import render_spectra

    images = render_spectra(spectra, PrepareParams(image_size=32))
    out, out_labels, parents = aug.oversample(images, labels, target=5, strategy=strategy,
                                              seed=3, source=source(spectra))
    assert out.shape == (10, 1, 32, 32) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[:6], images)  # the real images first, untouched
    np.testing.assert_array_equal(out_labels[6:], labels[parents[6:]])
    again = aug.oversample(images, labels, target=5, strategy=strategy, seed=3,
                           source=source(spectra))[0]
    np.testing.assert_array_equal(out, again)


def test_spectra_and_images_of_different_lengths_are_refused():
    spectra = np.stack([band(900.0)] * 3)
    images = np.full((4, 1, 32, 32), 255, dtype=np.uint8)
    with pytest.raises(ValueError, match="3 spectra for 4 images"):
        aug.oversample(images, np.zeros(4, dtype=int), target=6, strategy=16, seed=0,
                       source=source(spectra))


def test_the_bounds_are_params_not_constants():
    """params.yaml's spectral_augment section decides how far a spectrum moves: no shift, no
    broadening, no gain, drift or noise leaves it as it was; mixup weights stay in range."""
    spectra = np.stack([band(1000.0), band(2000.0)] * 5)
    still = SpectralAugmentParams(shift_cm=0, broaden_cm=0, gain_max=0, baseline_max=0,
                                  noise_max=0)
    np.testing.assert_allclose(sa.jitter(spectra, AXIS, np.random.default_rng(0), still),
                               spectra)
    assert not np.allclose(sa.jitter(spectra, AXIS, np.random.default_rng(0), BOUNDS), spectra)
    half = SpectralAugmentParams(mix_min=0.5, mix_max=0.5)
    np.testing.assert_allclose(sa.mixup(spectra[:1], spectra[1:2], np.random.default_rng(0),
                                        half), (spectra[:1] + spectra[1:2]) / 2)
    with pytest.raises(DataError, match="mix_min"):
        SpectralAugmentParams(mix_min=0.9, mix_max=0.1)
