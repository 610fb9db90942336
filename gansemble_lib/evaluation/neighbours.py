"""Nearest-neighbour distances between image sets, in a blurred pixel space.

The strong filter (stage 04) and the memorisation check (stage 05) both ask "how close is
this sample to its nearest training image, compared with how close real images are?". They
share this one definition of distance so their thresholds mean the same thing.

The space is the ink map (0 = white, 1 = full ink) area-downsampled to ``size`` pixels and
flattened; the distance is Euclidean. Downsampling matters: the curves are about a pixel
wide, so at full resolution a one-pixel shift of an otherwise identical curve moves it as
far as a different curve would; after averaging over 2x2 blocks it moves it much less.
"""

from __future__ import annotations

import numpy as np
import torch

from .classifiers import to_tensor

_CHUNK = 1024  # query rows per distance block: bounds memory at 1024 x len(reference)


def pixel_features(images: np.ndarray, size: int) -> np.ndarray:
    """uint8 (N, C, H, W) -> (N, C * size * size) float64 ink maps at ``size`` pixels."""
    if images.ndim != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {images.shape}")
    return to_tensor(images, size).flatten(1).double().numpy()


def nearest_distances(queries: np.ndarray, reference: np.ndarray, *,
                      exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each query row to its nearest reference row, and that row's index.

    ``exclude_self=True`` means queries *are* the reference (same rows, same order) and each
    row's distance to itself is ignored: the leave-one-out distances of a set.
    """
    if len(reference) == 0 or (exclude_self and len(reference) < 2):
        raise ValueError(f"need at least {2 if exclude_self else 1} reference rows, got "
                         f"{len(reference)}")
    if exclude_self and queries.shape != reference.shape:
        raise ValueError("exclude_self needs queries identical to the reference")
    ref = torch.from_numpy(np.ascontiguousarray(reference, dtype=np.float64))
    distances, indices = [], []
    for start in range(0, len(queries), _CHUNK):
        block = torch.from_numpy(np.ascontiguousarray(queries[start:start + _CHUNK],
                                                      dtype=np.float64))
        d = torch.cdist(block, ref)
        if exclude_self:
            rows = torch.arange(len(block))
            d[rows, rows + start] = torch.inf
        best = d.min(dim=1)
        distances.append(best.values.numpy())
        indices.append(best.indices.numpy())
    if not distances:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(distances), np.concatenate(indices)
