"""Sample sources besides the trained generators, and loading every source by name.

Ordinary augmentation and SMOTE are the classical baselines a generator has to beat. Both are
wrapped in the generator interface (``generate(class_index, n, seed)`` -> uint8 images), so the
filter and fidelity stages draw from them exactly as from a cGAN or a VAE.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from imblearn.over_sampling import SMOTE

from ..augment.images import augment
from ..augment.spectra import SpectralSource, augmented_images, is_spectral
from ..core.config import PrepareParams, SpectralAugmentParams
from ..core.errors import DataError
from ..data.dataset import PreparedData, prepare_params_from_info
from .interface import Generator, load_generator

AUGMENTATION = "augmentation"
SMOTE_NAME = "smote"


def _seed(*parts: int) -> np.random.SeedSequence:
    return np.random.SeedSequence([int(p) for p in parts])


@dataclass(frozen=True)
class AugmentationSource:
    """Augmented copies of randomly drawn train images of the class (with replacement)."""

    images: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    strategy: int
    spectra: SpectralSource | None = None  # the train spectra, for strategies 16-18

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])

    def generate(self, class_index: int, n: int, seed: int) -> np.ndarray:
        members = np.flatnonzero(self.labels == class_index)
        if len(members) == 0:
            raise ValueError(f"class {class_index} has no train images to augment")
        picks = np.random.default_rng(_seed(seed, class_index)).choice(members, size=n)
        if is_spectral(self.strategy):  # augment the spectra, then render them
            return augmented_images(self.spectra, self.labels, picks, self.strategy,
                                    np.random.default_rng(_seed(seed, class_index, 1)))
        return augment(self.images[picks], self.strategy, seed=_seed(seed, class_index, 1))


def smote_spectra(spectra: np.ndarray, labels: np.ndarray, class_index: int, n: int, *,
                  k_neighbors: int, seed: int) -> np.ndarray:
    """``n`` new spectra of one class by imbalanced-learn's SMOTE (same-class interpolation).

    SMOTE needs a neighbour: a class with a single train spectrum gets copies of it, with a
    warning, rather than failing the stage.
    """
    count = int(np.sum(labels == class_index))
    if count == 0:
        raise ValueError(f"class {class_index} has no train spectra for SMOTE")
    if count < 2:
        warnings.warn(f"class {class_index} has one train spectrum: SMOTE cannot interpolate, "
                      "returning copies", stacklevel=2)
        return np.repeat(spectra[labels == class_index], n, axis=0)
    if n == 0:
        return np.zeros((0, spectra.shape[1]), dtype=spectra.dtype)
    smote = SMOTE(sampling_strategy={class_index: count + n},
                  k_neighbors=min(k_neighbors, count - 1), random_state=seed)
    resampled, _ = smote.fit_resample(spectra, labels)
    return resampled[len(spectra):]  # imbalanced-learn appends the new rows after the originals


@dataclass(frozen=True)
class SmoteSource:
    """SMOTE on the train spectra, rendered as polar images exactly like the real ones."""

    spectra: np.ndarray
    labels: np.ndarray
    classes: tuple[str, ...]
    prepare_params: PrepareParams
    k_neighbors: int = 5

    @property
    def image_shape(self) -> tuple[int, int, int]:
        size = self.prepare_params.image_size
        return (self.prepare_params.channels, size, size)

    def generate_spectra(self, class_index: int, n: int, seed: int) -> np.ndarray:
        """``n`` new spectra of the class (on the prepared axis), before rendering."""
        return smote_spectra(self.spectra, self.labels, class_index, n,
                             k_neighbors=self.k_neighbors, seed=seed)

    def generate(self, class_index: int, n: int, seed: int) -> np.ndarray:
        from ..data.polar import render_spectra

        return render_spectra(self.generate_spectra(class_index, n, seed), self.prepare_params)


def load_sources(generators: dict[str, str | Path], data: PreparedData, *,
                 augmented_dir: str | Path, smote_neighbors: int,
                 bounds: SpectralAugmentParams, device: str = "cpu") -> dict[str, Generator]:
    """Every trained generator by name, then the augmentation and SMOTE baselines.

    A missing checkpoint is an error naming the file: silently dropping a generator would
    change the tables without anyone noticing. SMOTE needs spectra; for image input it is
    left out with a warning (there is nothing to interpolate in spectrum space).
    """
    from ..core.constants import TRAIN

    sources: dict[str, Generator] = {}
    for name, path in generators.items():
        path = Path(path)
        if not path.is_file():
            raise DataError(f"generator checkpoint for {name!r} not found", path=path,
                            fix="train it first (`dvc repro`)")
        generator = load_generator(path, device=device)
        if tuple(generator.classes) != data.classes:
            raise DataError(f"generator {name!r} knows classes {list(generator.classes)}, the "
                            f"prepared data has {list(data.classes)}", path=path,
                            fix="retrain it on the current data (`dvc repro`)")
        sources[name] = generator
    train = data.subset(TRAIN)
    chosen = json.loads((Path(augmented_dir) / "chosen.json").read_text(encoding="utf-8"))
    sources[AUGMENTATION] = AugmentationSource(train.images, train.labels, data.classes,
                                               int(chosen["strategy"]),
                                               SpectralSource.of(data, train, bounds))
    if train.spectra is None:
        warnings.warn("image input has no spectra: the SMOTE baseline is left out", stacklevel=2)
    else:
        sources[SMOTE_NAME] = SmoteSource(train.spectra, train.labels, data.classes,
                                          prepare_params_from_info(data.info), smote_neighbors)
    return sources
