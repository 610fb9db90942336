"""The one interface every generator offers, and loading any of them from a checkpoint.

``generate(class_index, n, seed)`` returns ``n`` uint8 images of shape (C, H, W) at the
working size, white background and dark curve like the real ones, so the filter, fidelity and
downstream stages treat a cGAN, a spectrum GAN and a VAE alike.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ..core.errors import DataError
from .training import load_checkpoint

# checkpoint "kind" -> module providing ``from_checkpoint(checkpoint, device) -> Generator``
KINDS = {"cgan": "gansemble_lib.generators.cgan",
         "spectrum_gan": "gansemble_lib.generators.spectrum_gan",
         "vae": "gansemble_lib.generators.vae"}


class Generator(Protocol):
    classes: tuple[str, ...]
    image_shape: tuple[int, int, int]

    def generate(self, class_index: int, n: int, seed: int) -> np.ndarray: ...


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Network output in [-1, 1] -> uint8 images in [0, 255]."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()


def from_uint8(images: np.ndarray) -> torch.Tensor:
    """uint8 images -> float tensor in [-1, 1], the range the generators train in."""
    return torch.from_numpy(np.ascontiguousarray(images)).float() / 127.5 - 1.0


def check_class_index(class_index: int, classes: tuple[str, ...]) -> None:
    if not 0 <= class_index < len(classes):
        raise ValueError(f"class_index {class_index} is out of range: this generator knows "
                         f"{len(classes)} classes (0..{len(classes) - 1})")


def class_noise(class_index: int, n: int, seed: int, *, classes: tuple[str, ...], z_dim: int,
                device: str | torch.device = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(noise, labels) to sample ``n`` of class ``class_index``: the noise drawn on the CPU
    from ``seed`` (the same on every device), the labels on ``device``."""
    check_class_index(class_index, classes)
    z = torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))
    return z, torch.full((n,), class_index, dtype=torch.long, device=device)


def load_generator(path: str | Path, *, device: str | torch.device = "cpu") -> Generator:
    """Load any generator checkpoint written by the training stages."""
    checkpoint = load_checkpoint(path, device=device)
    if checkpoint is None:
        raise DataError("no generator checkpoint", path=path,
                        fix="train it first (`dvc repro`)")
    kind = checkpoint.get("kind")
    if kind not in KINDS:
        raise DataError(f"unknown generator kind {kind!r}", path=path,
                        fix=f"expected one of: {', '.join(KINDS)}")
    return importlib.import_module(KINDS[kind]).from_checkpoint(checkpoint, device=device)
