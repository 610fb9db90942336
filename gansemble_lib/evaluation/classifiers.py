"""Small image classifiers used to score augmentations (and, later, downstream checks).

The same training function serves every row of a comparison, so only the data differ.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import accuracy_score, balanced_accuracy_score, precision_recall_fscore_support
from torch import nn

from ..core.constants import ACCURACY, BALANCED_ACCURACY, MACRO_F1, MACRO_PRECISION, MACRO_RECALL
from ..core.numerics import channels_last


class LeNet(nn.Module):
    """LeNet-style CNN as in the paper's chooser: two conv/pool blocks and three dense layers."""

    def __init__(self, *, in_channels: int, n_classes: int, size: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        )
        flat = 16 * (size // 4) ** 2
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 120), nn.ReLU(),
                                  nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, n_classes))
        channels_last(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class SpectrumCNN(nn.Module):
    """A small 1-D CNN on spectra (N, 1, points): three conv/pool blocks, global pooling, a
    linear head. The spectrum classifier a chemist might train instead of an image CNN."""

    def __init__(self, *, n_classes: int, width: int = 16) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 1
        for c_out in (width, 2 * width, 4 * width):
            layers += [nn.Conv1d(c_in, c_out, 7, padding=3), nn.ReLU(), nn.MaxPool1d(2)]
            c_in = c_out
        self.features = nn.Sequential(*layers, nn.AdaptiveMaxPool1d(8))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(c_in * 8, n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.skip = (nn.Identity() if stride == 1 and c_in == c_out else
                     nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                   nn.BatchNorm2d(c_out)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.skip(x))


class SmallResNet(nn.Module):
    """A narrow ResNet (3 stages of one basic block) for when LeNet underfits."""

    def __init__(self, *, in_channels: int, n_classes: int, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, width, 3, 1, 1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        self.stages = nn.Sequential(_Block(width, width, 1), _Block(width, 2 * width, 2),
                                    _Block(2 * width, 4 * width, 2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(4 * width, n_classes))
        channels_last(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def resnet18(*, in_channels: int, n_classes: int, weights_path: str | None = None) -> nn.Module:
    """torchvision's ResNet-18, from scratch unless a local ImageNet state dict is given.

    Loading from a file (never downloading) keeps runs offline; the first convolution is
    rebuilt for gray input by summing the pretrained filters over the colour channels.
    """
    from torchvision.models import resnet18 as tv_resnet18

    model = tv_resnet18(weights=None)
    if weights_path:
        model.load_state_dict(torch.load(weights_path, map_location="cpu", weights_only=True))
    if in_channels != 3:
        old = model.conv1.weight.data
        model.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        model.conv1.weight.data = old.sum(1, keepdim=True).repeat(1, in_channels, 1, 1) / 3
    model.fc = nn.Linear(model.fc.in_features, n_classes)
    return model


CLASSIFIERS = ("lenet", "resnet", "resnet18")


def make_classifier(name: str, *, in_channels: int, n_classes: int, size: int,
                    weights_path: str | None = None) -> nn.Module:
    if name == "lenet":
        return LeNet(in_channels=in_channels, n_classes=n_classes, size=size)
    if name == "resnet":
        return SmallResNet(in_channels=in_channels, n_classes=n_classes)
    if name == "resnet18":
        return resnet18(in_channels=in_channels, n_classes=n_classes, weights_path=weights_path)
    raise ValueError(f"unknown classifier {name!r}; use one of: {', '.join(CLASSIFIERS)}")


def to_tensor(images: np.ndarray, size: int) -> torch.Tensor:
    """uint8 (N, C, H, W), dark ink on white -> float ink map in [0, 1] at ``size``.

    Inverting makes the background zero, so zero padding and max-pooling treat it as empty.
    """
    x = 1.0 - torch.from_numpy(np.ascontiguousarray(images)).float() / 255.0
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="area" if x.shape[-1] > size else "bilinear")
    return x


@dataclass(frozen=True, kw_only=True)
class TrainSettings:
    """``steps`` > 0 fixes the number of optimiser steps whatever the data size (epochs are then
    as many as it takes); otherwise training runs ``epochs`` passes over the data."""

    epochs: int
    batch_size: int
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    steps: int = 0


EPOCH_CONFOUND = ("EPOCH BUDGET: a run on more data also takes more optimiser steps, so part of "
                  "any gain from extra data may be extra training (the paper's protocol; set "
                  "steps > 0 for a fixed budget)")


def budget_statement(steps: int, epochs: int, batch_size: int) -> str:
    """The training budget in words; an epoch budget says what it confounds."""
    if steps:
        return f"{steps} optimiser steps of batch {batch_size} per run, whatever the data size"
    return f"{epochs} epochs of batch {batch_size} per run. {EPOCH_CONFOUND}"


def train_classifier(model: nn.Module, x: torch.Tensor, y: np.ndarray, *,
                     settings: TrainSettings, seed: int, device: torch.device,
                     class_weights: torch.Tensor | None = None) -> nn.Module:
    """Plain mini-batch training, seeded: same seed and data give the same weights on CPU.

    Runs ``settings.steps`` optimiser steps when that is set (a fixed budget: a bigger training
    set then means more distinct images per step, not more steps), else ``settings.epochs``
    passes over shuffled data. Returns the model; ``model.steps_taken`` records the count.
    """
    if len(x) == 0:
        raise ValueError("no training images")
    generator = torch.Generator().manual_seed(seed)
    model = model.to(device)
    labels = torch.as_tensor(y, dtype=torch.long)
    if settings.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    weights = None if class_weights is None else class_weights.to(device)
    batch_norm = any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    if batch_norm and len(x) < 2:
        raise ValueError("batch norm cannot train on a single image")
    model.train()
    taken, epoch = 0, 0
    while (taken < settings.steps) if settings.steps > 0 else (epoch < settings.epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), settings.batch_size):
            idx = order[start:start + settings.batch_size]
            if len(idx) < 2 and batch_norm:
                continue  # batch norm cannot train on a single sample
            logits = model(x[idx].to(device))
            loss = F.cross_entropy(logits, labels[idx].to(device), weight=weights)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            taken += 1
            if taken == settings.steps:
                break
        epoch += 1
    model.steps_taken = taken
    return model


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, *, device: torch.device,
            batch_size: int = 256) -> np.ndarray:
    model.eval()
    out = [model(x[i:i + batch_size].to(device)).argmax(1).cpu()
           for i in range(0, len(x), batch_size)]
    return torch.cat(out).numpy()


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int
                          ) -> dict[str, float]:
    """Accuracy, balanced accuracy and macro precision/recall/F1 over all ``n_classes``.

    Classes absent from the predictions count as zero precision rather than being dropped, so
    a classifier that ignores a rare class is penalised.
    """
    labels = list(range(n_classes))
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, average="macro", zero_division=0)
    return {ACCURACY: float(accuracy_score(y_true, y_pred)),
            BALANCED_ACCURACY: float(balanced_accuracy_score(y_true, y_pred)),
            MACRO_PRECISION: float(precision), MACRO_RECALL: float(recall),
            MACRO_F1: float(f1)}
