"""The training loop shared by the image cGANs and the spectrum GAN, with exact resume.

One loop, three recipes:

* ``mpcgan`` repeats the GANsemble Keras loop: binary cross-entropy, the discriminator
  updated twice per step (half a batch of real images, then half a batch of generated ones,
  with class labels drawn uniformly as the original did), then the generator on a full batch.
* ``hinge`` is the modern recipe: hinge loss, one discriminator update on a real and a
  generated batch (fake labels drawn with the training set's class frequencies so the
  projection head sees the same class mix on both sides), optional DiffAugment on both, and an
  exponential moving average (EMA) of the generator's weights, which is what gets sampled.
* ``acgan`` is MPcGAN's loop with an auxiliary classifier on the discriminator (our
  conditioning fix, :func:`acgan_step`).

Everything a step draws (real-batch indices, noise, labels, augmentations) comes from one
dedicated ``torch.Generator``; dropout uses torch's global generator. Both, with NumPy's and
Python's, are saved in every checkpoint (:mod:`.training`), so a run killed at any point and
restarted gives bit-identical weights on the same CPU. A checkpoint is reused only when its
fingerprint (settings that change the result, hashes of the training data and code) matches;
``steps`` and ``checkpoint_every`` are not part of it, so raising ``steps`` continues a
finished run instead of starting again.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.progress import bar as progress_bar
from .training import LossLog, code_hash, load_checkpoint, rng_state, save_checkpoint, set_rng_state

# Loss-curve columns (reports/plots/03_*_losses.csv). d_real/d_fake are the mean
# discriminator output on real/generated images: a probability for BCE, a raw score for hinge.
D_LOSS, G_LOSS, D_REAL, D_FAKE = "d_loss", "g_loss", "d_real", "d_fake"
LOSS_COLUMNS = (D_LOSS, G_LOSS, D_REAL, D_FAKE)
MPCGAN_RECIPE, HINGE_RECIPE, ACGAN_RECIPE = "mpcgan", "hinge", "acgan"
CHECKPOINT_FILE = "checkpoint.pt"
GRIDS_DIR = "grids"
SNAPSHOT_SEED = 12345  # fixed noise for the per-class grids, the same at every checkpoint
# The modules whose source decides what training computes (part of the resume fingerprint):
# the networks, DiffAugment, the two entry points (which also scale the training data: uint8
# images through generators.from_uint8, spectra in spectrum_gan), this loop, and seeding.
TRAINING_CODE = ("generators.cgan", "generators.cgan_models", "augment.diffaugment",
                 "generators.gan_training", "generators.interface", "generators.spectrum_gan",
                 "generators.training")


@dataclass
class GanSetup:
    """Networks, optimisers and the knobs of one recipe."""

    generator: nn.Module
    discriminator: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    recipe: str
    z_dim: int
    n_classes: int
    ema: nn.Module | None = None
    ema_decay: float = 0.999
    augment: Callable[[torch.Tensor], torch.Tensor] | None = None
    diversity_weight: float = 0.0  # hinge recipe: weight of the mode-seeking term (0 = off)

    def sampler(self) -> nn.Module:
        """The network to sample from: the EMA copy when there is one."""
        return self.ema if self.ema is not None else self.generator


@dataclass
class TrainingRun:
    """What a call to :func:`train_gan` leaves behind (the checkpoint is also on disk)."""

    checkpoint: dict[str, Any]
    log: LossLog
    snapshots: dict[int, np.ndarray]
    resumed_from: int
    steps_run: int
    train_seconds: float
    images_per_second: float
    notes: list[str] = field(default_factory=list)


def make_ema(generator: nn.Module) -> nn.Module:
    ema = copy.deepcopy(generator)
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, generator: nn.Module, decay: float, step: int) -> None:
    """EMA with warm-up: ``min(decay, (1 + step) / (10 + step))``.

    A fixed 0.999 averages over ~1000 steps, longer than a laptop run, and would keep the
    average near the random start; the warm-up lets short runs average over their recent
    past while long runs reach the configured decay.
    """
    rate = min(decay, (1 + step) / (10 + step))
    for p_ema, p in zip(ema.parameters(), generator.parameters(), strict=True):
        p_ema.lerp_(p, 1 - rate)
    for b_ema, b in zip(ema.buffers(), generator.buffers(), strict=True):
        b_ema.copy_(b)  # batch-norm statistics follow the live generator


def fingerprint(settings: dict[str, Any], *arrays: np.ndarray) -> str:
    """Hash of the settings that change the result, of the training data, and of the code.

    The code counts because DVC keeps the checkpoint folder between runs (``persist``): after
    a change to a network or a loss, an old checkpoint must be retrained, not resumed.
    """
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode())
    digest.update(code_hash(*TRAINING_CODE).encode())
    for array in arrays:
        digest.update(str((array.shape, array.dtype)).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def _requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


def _draw(data: torch.Tensor, labels: torch.Tensor, n: int,
          rng: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    idx = torch.randint(len(data), (n,), generator=rng).to(data.device)
    return data[idx], labels[idx]


def _noise(z_dim: int, n: int, rng: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.randn(n, z_dim, generator=rng).to(device)


def _fake_labels(setup: GanSetup, labels: torch.Tensor, n: int,
                 rng: torch.Generator) -> torch.Tensor:
    if setup.recipe in (MPCGAN_RECIPE, ACGAN_RECIPE):  # the original drew classes uniformly
        return torch.randint(setup.n_classes, (n,), generator=rng).to(labels.device)
    return labels[torch.randint(len(labels), (n,), generator=rng).to(labels.device)]


def _update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def mpcgan_step(setup: GanSetup, data: torch.Tensor, labels: torch.Tensor, batch_size: int,
                rng: torch.Generator) -> dict[str, float]:
    g, d, device = setup.generator, setup.discriminator, data.device
    half = max(1, batch_size // 2)
    real, y_real = _draw(data, labels, half, rng)
    out_real = d(real, y_real)
    loss_real = F.binary_cross_entropy_with_logits(out_real, torch.ones_like(out_real))
    _update(setup.opt_d, loss_real)
    y_fake = _fake_labels(setup, labels, half, rng)
    with torch.no_grad():
        fake = g(_noise(setup.z_dim, half, rng, device), y_fake)
    out_fake = d(fake, y_fake)
    loss_fake = F.binary_cross_entropy_with_logits(out_fake, torch.zeros_like(out_fake))
    _update(setup.opt_d, loss_fake)
    _requires_grad(d, False)  # Keras' frozen discriminator inside the combined model
    y_gen = _fake_labels(setup, labels, batch_size, rng)
    out_gen = d(g(_noise(setup.z_dim, batch_size, rng, device), y_gen), y_gen)
    g_loss = F.binary_cross_entropy_with_logits(out_gen, torch.ones_like(out_gen))
    _update(setup.opt_g, g_loss)
    _requires_grad(d, True)
    return {D_LOSS: 0.5 * (loss_real.item() + loss_fake.item()), G_LOSS: g_loss.item(),
            D_REAL: torch.sigmoid(out_real).mean().item(),
            D_FAKE: torch.sigmoid(out_fake).mean().item()}


def acgan_step(setup: GanSetup, data: torch.Tensor, labels: torch.Tensor, batch_size: int,
               rng: torch.Generator) -> dict[str, float]:
    """MPcGAN's losses plus an auxiliary classifier (AC-GAN): D's class head learns the class
    of real and generated images, and G is also trained to be classified as its label. D is
    updated once on half a batch of real and half a batch of generated images (uniform
    labels, as MPcGAN), then G on a full batch."""
    g, d, device = setup.generator, setup.discriminator, data.device
    half = max(1, batch_size // 2)
    real, y_real = _draw(data, labels, half, rng)
    y_fake = _fake_labels(setup, labels, half, rng)
    with torch.no_grad():
        fake = g(_noise(setup.z_dim, half, rng, device), y_fake)
    s_real, c_real = d.heads(real, y_real)
    s_fake, c_fake = d.heads(fake, y_fake)
    bce_real = F.binary_cross_entropy_with_logits(s_real, torch.ones_like(s_real))
    bce_fake = F.binary_cross_entropy_with_logits(s_fake, torch.zeros_like(s_fake))
    d_loss = bce_real + bce_fake + F.cross_entropy(c_real, y_real) + F.cross_entropy(c_fake,
                                                                                   y_fake)
    _update(setup.opt_d, d_loss)
    _requires_grad(d, False)
    y_gen = _fake_labels(setup, labels, batch_size, rng)
    s_gen, c_gen = d.heads(g(_noise(setup.z_dim, batch_size, rng, device), y_gen), y_gen)
    g_loss = (F.binary_cross_entropy_with_logits(s_gen, torch.ones_like(s_gen))
              + F.cross_entropy(c_gen, y_gen))
    _update(setup.opt_g, g_loss)
    _requires_grad(d, True)
    return {D_LOSS: 0.5 * (bce_real.item() + bce_fake.item()), G_LOSS: g_loss.item(),
            D_REAL: torch.sigmoid(s_real).mean().item(),
            D_FAKE: torch.sigmoid(s_fake).mean().item()}


def mode_seeking_penalty(generated: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Mode-seeking term (Mao et al., CVPR 2019): small when two noise vectors of the same
    label give different images, large when they give the same one (collapse).

    The batch's first and second halves are paired (same labels, different noise).
    """
    half = len(z) // 2
    pixels = tuple(range(1, generated.dim()))
    images = (generated[:half] - generated[half:2 * half]).abs().mean(dim=pixels)
    noise = (z[:half] - z[half:2 * half]).abs().mean(dim=1)
    return 1.0 / ((images / noise).mean() + 1e-5)


def hinge_step(setup: GanSetup, data: torch.Tensor, labels: torch.Tensor, batch_size: int,
               rng: torch.Generator, step: int) -> dict[str, float]:
    g, d, device = setup.generator, setup.discriminator, data.device
    augment = setup.augment or (lambda x: x)
    real, y_real = _draw(data, labels, batch_size, rng)
    y_fake = _fake_labels(setup, labels, batch_size, rng)
    with torch.no_grad():
        fake = g(_noise(setup.z_dim, batch_size, rng, device), y_fake)
    out_real, out_fake = d(augment(real), y_real), d(augment(fake), y_fake)
    d_loss = F.relu(1 - out_real).mean() + F.relu(1 + out_fake).mean()
    _update(setup.opt_d, d_loss)
    _requires_grad(d, False)
    y_gen = _fake_labels(setup, labels, batch_size, rng)
    if setup.diversity_weight > 0:  # pairs of noise vectors per label: the halves share labels
        half = y_gen[: batch_size // 2]
        y_gen = torch.cat([half, half, y_gen[2 * (batch_size // 2):]])
    z = _noise(setup.z_dim, batch_size, rng, device)
    generated = g(z, y_gen)
    g_loss = -d(augment(generated), y_gen).mean()
    if setup.diversity_weight > 0:
        g_loss = g_loss + setup.diversity_weight * mode_seeking_penalty(generated, z)
    _update(setup.opt_g, g_loss)
    _requires_grad(d, True)
    if setup.ema is not None:
        update_ema(setup.ema, g, setup.ema_decay, step)
    return {D_LOSS: d_loss.item(), G_LOSS: g_loss.item(), D_REAL: out_real.mean().item(),
            D_FAKE: out_fake.mean().item()}


def _state(setup: GanSetup) -> dict[str, Any]:
    return {"generator": setup.generator.state_dict(),
            "discriminator": setup.discriminator.state_dict(),
            "ema": None if setup.ema is None else setup.ema.state_dict(),
            "opt_g": setup.opt_g.state_dict(), "opt_d": setup.opt_d.state_dict()}


def _load_state(setup: GanSetup, checkpoint: dict[str, Any]) -> None:
    setup.generator.load_state_dict(checkpoint["generator"])
    setup.discriminator.load_state_dict(checkpoint["discriminator"])
    if setup.ema is not None:
        setup.ema.load_state_dict(checkpoint["ema"])
    setup.opt_g.load_state_dict(checkpoint["opt_g"])
    setup.opt_d.load_state_dict(checkpoint["opt_d"])


def _resumable(previous: dict[str, Any] | None, key: str, steps: int, notes: list[str]) -> bool:
    if previous is None:
        return False
    if previous.get("fingerprint") != key:
        notes.append("the checkpoint was trained with other settings, data or code: "
                     "starting afresh")
        return False
    if previous["step"] > steps:
        notes.append(f"the checkpoint is at step {previous['step']} > steps = {steps}: "
                     "starting afresh")
        return False
    return True


def train_gan(setup: GanSetup, data: torch.Tensor, labels: torch.Tensor, *, steps: int,
              batch_size: int, checkpoint_every: int, model_dir: str | Path,
              header: dict[str, Any], key: str, rng: torch.Generator,
              snapshot: Callable[[], np.ndarray],
              on_checkpoint: Callable[[int, dict[int, np.ndarray]], None] | None = None,
              progress: bool = True) -> TrainingRun:
    """Train to ``steps`` generator updates, resuming from ``model_dir`` when possible.

    ``header`` (kind, architecture, network config, classes, ...) is stored in every
    checkpoint so :func:`generators.load_generator` can rebuild the model; ``key`` is the
    :func:`fingerprint`; ``snapshot()`` returns the per-class sample grid recorded at each
    checkpoint (uint8, classes × samples × C × H × W).
    """
    path = Path(model_dir) / CHECKPOINT_FILE
    notes: list[str] = []
    previous = load_checkpoint(path)  # on the CPU: RNG states must stay there
    log = LossLog(list(LOSS_COLUMNS))
    snapshots: dict[int, np.ndarray] = {}
    start, seconds = 0, 0.0
    if _resumable(previous, key, steps, notes):
        _load_state(setup, previous)
        set_rng_state(rng, previous["rng"])
        start, seconds = previous["step"], previous["train_seconds"]
        log = LossLog(list(LOSS_COLUMNS), previous["loss_rows"])
        log.truncate(start)
        snapshots = dict(previous["snapshots"])
    elif previous is not None or (Path(model_dir) / GRIDS_DIR).exists():
        shutil.rmtree(Path(model_dir) / GRIDS_DIR, ignore_errors=True)
        path.unlink(missing_ok=True)

    def checkpoint_now(step: int) -> dict[str, Any]:
        snapshots[step] = snapshot()  # samples in eval mode: the live generator trains on
        setup.generator.train()
        state = {**header, **_state(setup), "fingerprint": key, "step": step,
                 "loss_rows": log.rows, "rng": rng_state(rng), "snapshots": snapshots,
                 "train_seconds": seconds}
        save_checkpoint(path, state)
        if on_checkpoint is not None:
            on_checkpoint(step, snapshots)
        return state

    state = previous  # kept only when the run was already finished (no step below)
    setup.generator.train()
    setup.discriminator.train()
    bar = progress_bar(range(start + 1, steps + 1), initial=start, total=steps, unit="step",
                       desc=header.get("architecture", "gan"), disable=not progress)
    for step in bar:
        began = time.perf_counter()
        if setup.recipe == MPCGAN_RECIPE:
            values = mpcgan_step(setup, data, labels, batch_size, rng)
        elif setup.recipe == ACGAN_RECIPE:
            values = acgan_step(setup, data, labels, batch_size, rng)
        else:
            values = hinge_step(setup, data, labels, batch_size, rng, step)
        seconds += time.perf_counter() - began
        log.add(step, **values)
        bar.set_postfix({k: f"{v:.3f}" for k, v in values.items()}, refresh=False)
        if step % checkpoint_every == 0 or step == steps:
            state = checkpoint_now(step)
    if start == steps and on_checkpoint is not None:  # reused as it was: restore lost grids
        on_checkpoint(start, snapshots)
    rate = steps * batch_size / max(seconds, 1e-9)  # over every session of this run
    return TrainingRun(state, log, snapshots, start, steps - start, seconds, rate, notes)


def sync_grids(model_dir: str | Path, snapshots: dict[int, np.ndarray],
               classes: tuple[str, ...]) -> None:
    """One PNG per checkpoint in ``model_dir/grids``; files of other steps are removed."""
    import matplotlib.pyplot as plt

    from ..core.figures import class_sample_grid, save_figure

    folder = Path(model_dir) / GRIDS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    wanted = {f"step_{step:07d}.png": step for step in snapshots}
    for stale in folder.glob("*.png"):
        if stale.name not in wanted:
            stale.unlink()
    for name, step in wanted.items():
        if not (folder / name).is_file():
            fig = class_sample_grid(snapshots[step], classes, title=f"step {step}")
            save_figure(fig, folder / name)
            plt.close(fig)
