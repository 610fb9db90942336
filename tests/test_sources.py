"""The classical baselines behind the generator interface, and the generators parameter."""

from __future__ import annotations

import numpy as np
import pytest

from gansemble_lib.core.config import PrepareParams
from gansemble_lib.generators.sources import AugmentationSource, SmoteSource, smote_spectra


def two_class_spectra() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    t = np.linspace(0, 1, 50)
    a = np.exp(-((t - 0.3) / 0.05) ** 2) + rng.normal(0, 0.01, (6, 50))
    b = np.exp(-((t - 0.7) / 0.05) ** 2) + rng.normal(0, 0.01, (4, 50))
    return np.concatenate([a, b]), np.array([0] * 6 + [1] * 4)


def test_smote_interpolates_within_the_class_and_is_seeded():
    x, y = two_class_spectra()
    new = smote_spectra(x, y, 1, 7, k_neighbors=5, seed=3)
    assert new.shape == (7, 50)
    # every new spectrum lies in the class's bounding box (convex combinations of its rows)
    assert (new >= x[y == 1].min(0) - 1e-12).all() and (new <= x[y == 1].max(0) + 1e-12).all()
    assert np.array_equal(new, smote_spectra(x, y, 1, 7, k_neighbors=5, seed=3))


def test_smote_with_a_single_spectrum_warns_and_copies():
    x, y = two_class_spectra()
    y[6:] = [1, 2, 2, 2]
    with pytest.warns(UserWarning, match="one train spectrum"):
        new = smote_spectra(x, y, 1, 3, k_neighbors=5, seed=0)
    assert np.array_equal(new, np.repeat(x[6:7], 3, axis=0))


def test_smote_source_renders_like_the_prepare_stage():
    x, y = two_class_spectra()
    source = SmoteSource(x, y, ("a", "b"), PrepareParams(image_size=32), k_neighbors=3)
    images = source.generate(0, 4, seed=1)
    assert images.shape == (4, 1, 32, 32) == (4, *source.image_shape)
    assert images.dtype == np.uint8 and images.min() < 128 and np.median(images) == 255


def test_augmentation_source_draws_only_from_the_class():
    images = np.full((4, 1, 16, 16), 255, dtype=np.uint8)
    images[2:, 0, 8, :] = 0  # class 1 has a line, class 0 is blank
    source = AugmentationSource(images, np.array([0, 0, 1, 1]), ("a", "b"), strategy=0)
    assert (source.generate(0, 5, seed=0) == 255).all()
    assert (source.generate(1, 5, seed=0).min(axis=(1, 2, 3)) == 0).all()
