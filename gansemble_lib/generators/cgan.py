"""Conditional image GANs (stage 03): training entry point and the shared generator interface.

``train`` fits an MPcGAN port or the modern cGAN (:mod:`.cgan_models`) to uint8 images with
the loop of :mod:`.gan_training`; ``from_checkpoint`` rebuilds the sampler for
:func:`generators.load_generator`. The MPcGAN is sampled from its live weights, as in the paper;
the modern cGAN from its weight average (EMA).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..augment.diffaugment import DiffAugment
from ..core.config import CganParams
from ..core.numerics import resolve_device
from ..core.params_io import as_dict
from .cgan_models import ARCHITECTURES, MODERN, MPCGAN, MPCGAN_AC, MPCGAN_PROJ, build_image_models
from .gan_training import (
    ACGAN_RECIPE,
    HINGE_RECIPE,
    MPCGAN_RECIPE,
    SNAPSHOT_SEED,
    GanSetup,
    TrainingRun,
    fingerprint,
    make_ema,
    sync_grids,
    train_gan,
)
from .interface import class_noise, from_uint8, to_uint8
from .training import seed_everything

KIND = "cgan"
SAMPLE_CHUNK = 256  # images per forward pass when sampling: bounds memory at 128×128×3
# Settings that do not change the trained weights, left out of the resume fingerprint, and
# those each architecture does not use (changing them must not restart its training).
NOT_IN_FINGERPRINT = ("steps", "modern_steps", "proj_steps", "ac_steps", "checkpoint_every",
                      "device",
                      "grid_per_class", "eval_per_class", "faithful_per_class")
_MPCGAN_UNUSED = ("ema_decay", "diffaugment", "spectrum_points", "diversity_weight")
UNUSED = {MPCGAN: (*_MPCGAN_UNUSED, "proj_lr_g"), MPCGAN_PROJ: (*_MPCGAN_UNUSED, "lr_g"),
          MPCGAN_AC: (*_MPCGAN_UNUSED, "proj_lr_g"),
          MODERN: ("dropout", "spectrum_points", "proj_lr_g")}


def steps_for(architecture: str, params: CganParams) -> int:
    """The generator updates an architecture trains for: ``modern_steps`` for the modern cGAN,
    ``proj_steps`` for mpcgan_proj, ``ac_steps`` for mpcgan_ac, ``steps`` for the others."""
    return {MODERN: params.modern_steps, MPCGAN_PROJ: params.proj_steps,
            MPCGAN_AC: params.ac_steps}.get(architecture, params.steps)


def lr_g_for(architecture: str, params: CganParams) -> float:
    """The generator's learning rate: ``proj_lr_g`` for mpcgan_proj, ``lr_g`` for the others."""
    return params.proj_lr_g if architecture == MPCGAN_PROJ else params.lr_g


class CganGenerator:
    """A trained conditional generator behind the shared ``generate`` interface."""

    def __init__(self, network: torch.nn.Module, *, classes: tuple[str, ...],
                 image_shape: tuple[int, int, int], z_dim: int,
                 device: str | torch.device = "cpu") -> None:
        self.network = network.to(device)
        self.classes = tuple(classes)
        self.image_shape = tuple(image_shape)
        self.z_dim = z_dim
        self.device = torch.device(device)

    @torch.no_grad()
    def sample(self, class_index: int, n: int, seed: int) -> torch.Tensor:
        """Raw network output in [-1, 1], (n, C, H, W); noise drawn on the CPU from ``seed``."""
        self.network.eval()
        z, labels = class_noise(class_index, n, seed, classes=self.classes, z_dim=self.z_dim,
                                device=self.device)
        parts = [self.network(chunk.to(self.device), part).cpu()
                 for chunk, part in zip(z.split(SAMPLE_CHUNK), labels.split(SAMPLE_CHUNK),
                                        strict=True)]
        return torch.cat(parts) if parts else torch.empty(0, *self.image_shape)

    def generate(self, class_index: int, n: int, seed: int) -> np.ndarray:
        """``n`` uint8 images (n, C, H, W) of class ``class_index``; same seed, same images."""
        return to_uint8(self.sample(class_index, n, seed))


def per_class_grid(generator, n: int, seed: int = SNAPSHOT_SEED) -> np.ndarray:
    """(classes, n, C, H, W) uint8: the same noise for every class, so rows differ by label."""
    return np.stack([generator.generate(k, n, seed) for k in range(len(generator.classes))])


def _model_config(architecture: str, image_shape: tuple[int, int, int], n_classes: int,
                  params: CganParams) -> dict[str, Any]:
    return {"architecture": architecture, "image_shape": list(image_shape),
            "n_classes": n_classes, "z_dim": params.z_dim, "width": params.width,
            "embedding": params.label_embedding, "dropout": params.dropout}


def _build(config: dict[str, Any]) -> tuple[torch.nn.Module, torch.nn.Module]:
    return build_image_models(config["architecture"], image_shape=tuple(config["image_shape"]),
                              n_classes=config["n_classes"], z_dim=config["z_dim"],
                              width=config["width"], embedding=config["embedding"],
                              dropout=config["dropout"])


def train(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], *,
          architecture: str, params: CganParams, model_dir: str | Path, progress: bool = True,
          write_grids: bool = True, device: str = "auto") -> TrainingRun:
    """Train (or resume, or reuse) a cGAN on uint8 images (N, C, H, W) with integer labels.

    The checkpoint, and with ``write_grids`` a PNG of the per-class samples at every
    checkpoint, go to ``model_dir``.
    """
    if architecture not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {architecture!r}; use one of "
                         f"{', '.join(ARCHITECTURES)}")
    if images.ndim != 4 or images.dtype != np.uint8 or len(images) != len(labels):
        raise ValueError(f"expected uint8 images (N, C, H, W) and N labels, got {images.shape} "
                         f"{images.dtype} and {len(labels)} labels")
    device = resolve_device(device)
    rng = seed_everything(params.seed)
    image_shape = tuple(int(s) for s in images.shape[1:])
    config = _model_config(architecture, image_shape, len(classes), params)
    generator, discriminator = (m.to(device) for m in _build(config))
    betas = (params.beta1, params.beta2)
    setup = GanSetup(
        generator=generator, discriminator=discriminator,
        opt_g=torch.optim.Adam(generator.parameters(), lr=lr_g_for(architecture, params),
                               betas=betas),
        opt_d=torch.optim.Adam(discriminator.parameters(), lr=params.lr_d, betas=betas),
        recipe={MODERN: HINGE_RECIPE, MPCGAN_AC: ACGAN_RECIPE}.get(architecture, MPCGAN_RECIPE),
        z_dim=params.z_dim, n_classes=len(classes),
        ema=make_ema(generator) if architecture == MODERN else None, ema_decay=params.ema_decay,
        augment=DiffAugment(params.diffaugment, rng) if architecture == MODERN else None,
        diversity_weight=params.diversity_weight if architecture == MODERN else 0.0)
    sampler = CganGenerator(setup.sampler(), classes=classes, image_shape=image_shape,
                            z_dim=params.z_dim, device=device)
    settings = {k: v for k, v in as_dict(params).items()
                if k not in NOT_IN_FINGERPRINT + UNUSED[architecture]}
    key = fingerprint({"kind": KIND, "architecture": architecture, "classes": list(classes),
                       **settings}, images, np.asarray(labels))
    header = {"kind": KIND, "architecture": architecture, "model_config": config,
              "classes": list(classes), "image_shape": list(image_shape),
              "params": as_dict(params)}
    targets = torch.tensor(np.asarray(labels), dtype=torch.long, device=device)
    return train_gan(
        setup, from_uint8(images).to(device), targets, steps=steps_for(architecture, params),
        batch_size=params.batch_size,
        checkpoint_every=params.checkpoint_every, model_dir=model_dir, header=header, key=key,
        rng=rng, snapshot=lambda: per_class_grid(sampler, params.grid_per_class),
        on_checkpoint=(lambda _, shots: sync_grids(model_dir, shots, classes)) if write_grids
        else None, progress=progress)


def from_checkpoint(checkpoint: dict[str, Any], device: str | torch.device = "cpu"
                    ) -> CganGenerator:
    """The sampler of a cGAN checkpoint: EMA weights when trained with them, else the live G."""
    config = checkpoint["model_config"]
    network, _ = _build(config)
    weights = checkpoint["ema"] if checkpoint.get("ema") is not None else checkpoint["generator"]
    network.load_state_dict(weights)
    return CganGenerator(network, classes=tuple(checkpoint["classes"]),
                         image_shape=tuple(checkpoint["image_shape"]), z_dim=config["z_dim"],
                         device=device)
