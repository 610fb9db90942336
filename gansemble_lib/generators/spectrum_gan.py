"""A conditional GAN in spectrum space, drawn through the project's polar renderer.

The image cGANs have to learn what a polar curve is (a thin closed line whose radius is the
intensity) from a few hundred pictures of one. The spectra themselves are a far smaller,
better-posed target: a 1-D signal of a few hundred points. This GAN learns those and hands
its samples to the same renderer ``prepare`` used, at the same geometry, so ``generate``
returns images that the filter, fidelity and downstream stages treat like any other
generator's, while every sample is a well-formed curve by construction.

Training data: the prepared TRAIN spectra, resampled to ``spectrum_points`` and scaled per
spectrum to [-1, 1] (the rendering rescales every spectrum to 0..1 anyway, so absolute
intensity carries no information). The networks are the modern recipe in 1-D: a generator of
class-conditional up-blocks, a spectrally normalised projection discriminator, hinge loss and
a weight average (EMA) for sampling. DiffAugment is left out: its operations are image ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.config import CganParams, PrepareParams
from ..core.errors import DataError
from ..core.numerics import resolve_device
from ..core.params_io import as_dict, from_mapping
from ..data.dataset import RENDER_KEYS, render_params
from ..data.polar import render_spectra, resample_to
from .cgan import NOT_IN_FINGERPRINT, per_class_grid
from .cgan_models import ProjectionDiscriminator, UpBlock
from .gan_training import (
    HINGE_RECIPE,
    GanSetup,
    TrainingRun,
    fingerprint,
    make_ema,
    sync_grids,
    train_gan,
)
from .interface import class_noise
from .training import seed_everything

KIND = "spectrum_gan"
ARCHITECTURE = "spectrum"
UNUSED = ("dropout", "diffaugment")  # image-cGAN knobs, not used here


class SpectrumGeneratorNet(nn.Module):
    """[z, embed(y)] -> dense -> (4w, L/8) -> three conditional up-blocks -> conv + tanh.

    The 1-D twin of :class:`.cgan_models.ModernGenerator`; the output is (N, 1, L).
    """

    def __init__(self, *, points: int, n_classes: int, z_dim: int, width: int,
                 embedding: int) -> None:
        super().__init__()
        if points % 8:
            raise ValueError(f"points must be a multiple of 8, got {points}")
        self.base = (4 * width, points // 8)
        self.embed = nn.Embedding(n_classes, embedding)
        self.dense = nn.Linear(z_dim + embedding, 4 * width * (points // 8))
        self.blocks = nn.ModuleList([UpBlock(4 * width, 2 * width, n_classes, dims=1),
                                     UpBlock(2 * width, width, n_classes, dims=1),
                                     UpBlock(width, width, n_classes, dims=1)])
        self.out = nn.Conv1d(width, 1, 3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = self.dense(torch.cat([z, self.embed(labels)], dim=1)).view(-1, *self.base)
        for block in self.blocks:
            x = block(x, labels)
        return torch.tanh(self.out(x))


def training_spectra(spectra: np.ndarray, points: int) -> np.ndarray:
    """(N, M) spectra -> (N, points) float32, each min-max scaled to [-1, 1]."""
    x = resample_to(np.asarray(spectra, dtype=np.float64), points)
    low = x.min(axis=1, keepdims=True)
    span = x.max(axis=1, keepdims=True) - low
    return (2 * (x - low) / np.where(span > 0, span, 1.0) - 1).astype(np.float32)


class SpectrumGenerator:
    """A trained spectrum GAN behind the shared ``generate`` interface (rendered images)."""

    def __init__(self, network: nn.Module, *, classes: tuple[str, ...], z_dim: int,
                 render: PrepareParams, device: str | torch.device = "cpu") -> None:
        self.network = network.to(device)
        self.classes = tuple(classes)
        self.z_dim = z_dim
        self.render = render
        self.image_shape = (render.channels, render.image_size, render.image_size)
        self.device = torch.device(device)

    @torch.no_grad()
    def generate_spectra(self, class_index: int, n: int, seed: int) -> np.ndarray:
        """``n`` spectra (n, points) in [0, 1] of class ``class_index``, before rendering."""
        self.network.eval()
        z, labels = class_noise(class_index, n, seed, classes=self.classes, z_dim=self.z_dim,
                                device=self.device)
        out = self.network(z.to(self.device), labels)[:, 0].double().cpu().numpy()
        return (out + 1) / 2

    def generate(self, class_index: int, n: int, seed: int) -> np.ndarray:
        """``n`` uint8 polar images (n, C, H, W), rendered exactly as ``prepare`` renders."""
        spectra = self.generate_spectra(class_index, n, seed)
        if n == 0:
            return np.zeros((0, *self.image_shape), dtype=np.uint8)
        return render_spectra(spectra, self.render)


def check_spectra_input(info: dict, spectra: np.ndarray | None) -> None:
    """Raise a clear error when the prepared data are images (no spectra to learn from)."""
    if spectra is None or info.get("modality") != "spectra":
        raise DataError(f"the spectrum GAN needs spectra, but the prepared data are "
                        f"{info.get('modality', 'images')}", path="data/prepared",
                        fix="train an image cGAN (architecture mpcgan or modern) on image data")


def _network(config: dict[str, Any]) -> SpectrumGeneratorNet:
    return SpectrumGeneratorNet(points=config["points"], n_classes=config["n_classes"],
                                z_dim=config["z_dim"], width=config["width"],
                                embedding=config["embedding"])


def train(spectra: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], *, info: dict,
          params: CganParams, model_dir: str | Path, progress: bool = True,
          write_grids: bool = True, device: str = "auto") -> TrainingRun:
    """Train (or resume, or reuse) the spectrum GAN on (N, M) spectra with integer labels.

    ``info`` is the prepared data's ``info.json``: it says whether there are spectra at all
    and how ``prepare`` rendered them, which the samples must repeat.
    """
    check_spectra_input(info, spectra)
    if len(spectra) != len(labels):
        raise ValueError(f"{len(spectra)} spectra but {len(labels)} labels")
    render = render_params(info)
    device = resolve_device(device)
    rng = seed_everything(params.seed)
    config = {"points": params.spectrum_points, "n_classes": len(classes),
              "z_dim": params.z_dim, "width": params.width, "embedding": params.label_embedding}
    generator = _network(config).to(device)
    discriminator = ProjectionDiscriminator(in_channels=1, n_classes=len(classes),
                                            positions=params.spectrum_points // 8,
                                            width=params.width, dims=1).to(device)
    betas = (params.beta1, params.beta2)
    setup = GanSetup(
        generator=generator, discriminator=discriminator,
        opt_g=torch.optim.Adam(generator.parameters(), lr=params.lr_g, betas=betas),
        opt_d=torch.optim.Adam(discriminator.parameters(), lr=params.lr_d, betas=betas),
        recipe=HINGE_RECIPE, z_dim=params.z_dim, n_classes=len(classes),
        ema=make_ema(generator), ema_decay=params.ema_decay,
        diversity_weight=params.diversity_weight)
    sampler = SpectrumGenerator(setup.sampler(), classes=classes, z_dim=params.z_dim,
                                render=render, device=device)
    data = training_spectra(spectra, params.spectrum_points)
    settings = {k: v for k, v in as_dict(params).items() if k not in NOT_IN_FINGERPRINT + UNUSED}
    key = fingerprint({"kind": KIND, "classes": list(classes), **settings,
                       **{k: info["params"][k] for k in RENDER_KEYS}}, data, np.asarray(labels))
    header = {"kind": KIND, "architecture": ARCHITECTURE, "model_config": config,
              "classes": list(classes), "image_shape": list(sampler.image_shape),
              "render": {k: getattr(render, k) for k in RENDER_KEYS}, "params": as_dict(params)}
    return train_gan(
        setup, torch.from_numpy(data)[:, None].to(device),
        torch.tensor(np.asarray(labels), dtype=torch.long, device=device), steps=params.steps,
        batch_size=params.batch_size, checkpoint_every=params.checkpoint_every,
        model_dir=model_dir, header=header, key=key, rng=rng,
        snapshot=lambda: per_class_grid(sampler, params.grid_per_class),
        on_checkpoint=(lambda _, shots: sync_grids(model_dir, shots, classes)) if write_grids
        else None, progress=progress)


def from_checkpoint(checkpoint: dict[str, Any], device: str | torch.device = "cpu"
                    ) -> SpectrumGenerator:
    network = _network(checkpoint["model_config"])
    network.load_state_dict(checkpoint["ema"])
    render = from_mapping("prepare", checkpoint["render"], source="checkpoint")
    return SpectrumGenerator(network, classes=tuple(checkpoint["classes"]),
                             z_dim=checkpoint["model_config"]["z_dim"], render=render,
                             device=device)
