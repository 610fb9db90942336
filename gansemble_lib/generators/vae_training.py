"""Training the class VAEs (stage 03b) with exact resume, and scoring their reconstructions.

Classes are trained one after another, each from its own seed, into one checkpoint file. The
checkpoint is rewritten after every finished class and every ``checkpoint_every`` epochs with
the model, optimiser and random states of the class in progress, so an interrupted run picks
up where it stopped and ends with the same weights as one that never stopped (on CPU).

A checkpoint is only resumed when it was made from the same train images, the same training
parameters and the same training code (a fingerprint of all three is stored in it; the code
is the source of the modules in ``TRAINING_CODE``); otherwise training starts afresh. The code
counts because DVC keeps models/vae between runs (``persist``): after an edit to the network
or the loss, the old weights must be retrained, not reused. The sampling parameters
(``sampling``, ``alpha_min``, ``alpha_max``) are not part of the fingerprint: changing them
re-uses the trained VAEs and only rewrites the checkpoint.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..core.config import VaeParams
from ..core.numerics import resolve_device
from ..core.progress import bar as progress_bar
from .training import (
    LossLog,
    code_hash,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    seed_everything,
    set_rng_state,
)
from .vae import KIND, ConvVae, VaeEnsemble, from_checkpoint, kl_weight, to_unit, vae_loss

# Parameters that change the trained weights; the others only change sampling or bookkeeping.
TRAINING_KEYS = ("seed", "latent_dim", "width", "epochs", "batch_size", "lr", "kl_warmup", "beta")
# The modules whose source decides what training computes (the network, its loss and the
# image scaling in vae; the loop here; seeding and checkpoints in training).
TRAINING_CODE = ("generators.vae", "generators.vae_training", "generators.training")
# Loss curve columns (reports/plots/03b_vae_losses.csv). ``step`` counts epochs over all
# classes in training order, so the curves of successive classes follow each other.
CLASS_INDEX, EPOCH, KL_WEIGHT = "class_index", "epoch", "kl_weight"
TOTAL, RECONSTRUCTION, KL = "total", "reconstruction", "kl"
LOSS_COLUMNS = [CLASS_INDEX, EPOCH, KL_WEIGHT, TOTAL, RECONSTRUCTION, KL]
# Reconstruction table and metrics names (reports/metrics/03b_vae.json).
N_IMAGES, VAE_MSE, MEAN_IMAGE_MSE = "n_images", "reconstruction_mse", "mean_image_mse"

EpochCallback = Callable[[int, int], None]


@dataclass
class TrainResult:
    """The trained generator, its loss curves, and how this run got there."""

    ensemble: VaeEnsemble
    losses: LossLog
    train_seconds: float  # over every run that contributed, so a resumed run reports the total
    status: str


def fingerprint(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...],
                params: VaeParams) -> str:
    """Hash of the train data, the training parameters and the training code (the source of
    ``TRAINING_CODE``) that a checkpoint must match to resume."""
    digest = hashlib.sha256(code_hash(*TRAINING_CODE).encode())
    for array in (np.ascontiguousarray(images), np.asarray(labels, dtype=np.int64)):
        digest.update(str(array.shape).encode())
        digest.update(array.tobytes())
    settings = {key: getattr(params, key) for key in TRAINING_KEYS}
    digest.update(json.dumps([list(classes), settings], sort_keys=True).encode())
    return digest.hexdigest()


def class_seed(seed: int, class_index: int) -> int:
    """One stream per class; ``seed + k`` would tie seed 0's class 1 to seed 1's class 0."""
    return int(np.random.SeedSequence([seed, class_index]).generate_state(1)[0])


def _fresh_state(key: str, classes: tuple[str, ...], image_shape: tuple[int, ...],
                 params: VaeParams) -> dict[str, Any]:
    return {"kind": KIND, "fingerprint": key, "classes": list(classes),
            "image_shape": list(image_shape),
            "architecture": {"latent_dim": params.latent_dim, "width": params.width},
            "models": [None] * len(classes), "codes": [None] * len(classes), "progress": None,
            "losses": [], "train_seconds": 0.0}


def _train_epoch(model: ConvVae, optimizer: torch.optim.Optimizer, x: torch.Tensor,
                 generator: torch.Generator, weight: float, batch_size: int,
                 device: torch.device) -> dict[str, float]:
    """One pass over the class's images; image-weighted means of the three loss terms."""
    model.train()
    order = torch.randperm(len(x), generator=generator)
    sums = torch.zeros(3, dtype=torch.float64)
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        # Noise is drawn on the CPU generator whatever the device, so runs and resumes agree.
        noise = torch.randn(len(idx), model.latent_dim, generator=generator).to(device)
        total, recon, kl = vae_loss(model, x[idx].to(device), noise, weight)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        sums += len(idx) * torch.stack([total, recon, kl]).detach().double().cpu()
    return dict(zip((TOTAL, RECONSTRUCTION, KL), (sums / len(x)).tolist(), strict=True))


def _train_class(k: int, x: torch.Tensor, *, params: VaeParams, state: dict[str, Any],
                 log: LossLog, path: Path, device: torch.device, bar,
                 on_epoch: EpochCallback | None) -> None:
    """Train (or finish training) class k's VAE, checkpointing into ``state`` at ``path``."""
    generator = seed_everything(class_seed(params.seed, k))
    model = ConvVae(image_shape=tuple(x.shape[1:]), latent_dim=params.latent_dim,
                    width=params.width).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=params.lr)
    start = 0
    progress = state["progress"]
    if progress is not None and progress["class_index"] == k:
        model.load_state_dict(progress["model"])
        optimizer.load_state_dict(progress["optimizer"])
        set_rng_state(generator, progress["rng"])
        start = progress["epoch"]
    for epoch in range(start, params.epochs):
        started = time.perf_counter()
        weight = kl_weight(epoch, beta=params.beta, warmup=params.kl_warmup)
        terms = _train_epoch(model, optimizer, x, generator, weight, params.batch_size, device)
        state["train_seconds"] += time.perf_counter() - started
        log.add(k * params.epochs + epoch + 1, **{CLASS_INDEX: k, EPOCH: epoch + 1,
                                                  KL_WEIGHT: weight, **terms})
        bar.set_postfix_str(f"class {k} loss {terms[TOTAL]:.1f}", refresh=False)
        bar.update()
        if (epoch + 1) % params.checkpoint_every == 0 and epoch + 1 < params.epochs:
            state["progress"] = {"class_index": k, "epoch": epoch + 1,
                                 "model": model.state_dict(),
                                 "optimizer": optimizer.state_dict(),
                                 "rng": rng_state(generator)}
            state["losses"] = log.rows
            save_checkpoint(path, state)
        if on_epoch is not None:
            on_epoch(k, epoch + 1)
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x.to(device))
    state["models"][k] = model.state_dict()
    state["codes"][k] = {"mu": mu.cpu(), "logvar": logvar.cpu()}
    state["progress"] = None
    state["losses"] = log.rows
    save_checkpoint(path, state)


def train_class_vaes(images: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], *,
                     params: VaeParams, checkpoint_path: str | Path, progress: bool = True,
                     on_epoch: EpochCallback | None = None, device: str = "auto") -> TrainResult:
    """Train one VAE per class on that class's images (the train split), resuming if possible.

    ``on_epoch(class_index, epoch)`` is called after each epoch (and its checkpoint, if due);
    tests raise from it to simulate an interruption. Returns the finished generator, written
    to ``checkpoint_path`` with the sampling parameters of ``params``.
    """
    path = Path(checkpoint_path)
    empty = [name for k, name in enumerate(classes) if not np.any(labels == k)]
    if empty:
        raise ValueError(f"class {empty[0]!r} has no train images: a class VAE cannot be "
                         "trained for it (check the split and the imbalance profile)")
    key = fingerprint(images, labels, classes, params)
    state = load_checkpoint(path)
    if state is None:
        status, state = "trained from scratch", _fresh_state(key, classes, images.shape[1:],
                                                             params)
    elif state.get("fingerprint") != key:
        status = "trained from scratch (the old checkpoint was for other data, parameters or code)"
        state = _fresh_state(key, classes, images.shape[1:], params)
    elif all(m is not None for m in state["models"]):
        status = "re-used the finished checkpoint (no training needed)"
    else:
        done = sum(m is not None for m in state["models"])
        status = f"resumed after {done} finished classes"
        if state["progress"] is not None:
            status += (f", {classes[state['progress']['class_index']]} from epoch "
                       f"{state['progress']['epoch']}")
    device = resolve_device(device)
    log = LossLog(LOSS_COLUMNS, state["losses"])
    todo = [k for k, m in enumerate(state["models"]) if m is None]
    finished_epochs = (len(classes) - len(todo)) * params.epochs
    if state["progress"] is not None:
        finished_epochs += state["progress"]["epoch"]
    with progress_bar(total=len(classes) * params.epochs, initial=finished_epochs,
                      desc="class VAEs", unit="epoch", disable=not progress) as bar:
        for k in todo:
            _train_class(k, to_unit(images[labels == k]), params=params, state=state, log=log,
                         path=path, device=device, bar=bar, on_epoch=on_epoch)
    state["sampling"] = {"mode": params.sampling, "alpha_min": params.alpha_min,
                         "alpha_max": params.alpha_max}
    state["params"] = dataclasses.asdict(params)
    save_checkpoint(path, state)
    return TrainResult(from_checkpoint(state, device), log, state["train_seconds"], status)


def reconstruction_table(ensemble: VaeEnsemble, splits: dict[str, tuple[np.ndarray, np.ndarray]]
                         ) -> pd.DataFrame:
    """Per class and split: mean squared reconstruction error in [0, 1] pixel units.

    Alongside, the error of predicting every image by its class's mean *train* image: a VAE
    that does not beat this blurry reference has not learnt more than the average shape.
    """
    train_images, train_labels = splits["train"]
    rows = []
    for name, (images, labels) in splits.items():
        recon = ensemble.reconstruct(images, labels)
        for k, cls in enumerate(ensemble.classes):
            idx = np.flatnonzero(labels == k)
            real = images[idx].astype(np.float64) / 255
            mean_image = train_images[train_labels == k].astype(np.float64).mean(axis=0) / 255
            rows.append({"class": cls, "split": name, N_IMAGES: len(idx),
                         VAE_MSE: float(np.mean((recon[idx] / 255 - real) ** 2)) if len(idx)
                         else np.nan,
                         MEAN_IMAGE_MSE: float(np.mean((mean_image - real) ** 2)) if len(idx)
                         else np.nan})
    return pd.DataFrame(rows)


def metrics_record(table: pd.DataFrame, *, train_seconds: float, stage_seconds: float,
                   status: str, single_image_classes: list[str]) -> dict[str, Any]:
    """The stage's metrics JSON: per-class and mean errors per split, and the times."""
    def clean(value: float) -> float | None:  # JSON has no NaN: a class without images is null
        return None if pd.isna(value) else round(float(value), 6)

    record: dict[str, Any] = {"train_seconds": round(train_seconds, 2),
                              "stage_seconds": round(stage_seconds, 2), "training": status,
                              "single_image_classes": single_image_classes}
    for column in (VAE_MSE, MEAN_IMAGE_MSE):
        per_split = table.pivot(index="class", columns="split", values=column)
        record[column] = {split: {cls: clean(v) for cls, v in per_split[split].items()}
                          for split in per_split.columns}
        record[f"{column}_class_mean"] = {split: clean(per_split[split].mean())
                                          for split in per_split.columns}
    return record
