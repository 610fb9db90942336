"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for data-efficient GANs.

With a few hundred images a discriminator memorises the training set within a few hundred
steps and stops giving the generator a useful signal. Augmenting *both* real and generated
images before the discriminator, with operations the generator's gradient can flow through,
keeps it from memorising without teaching the generator to produce augmented images
(augmenting only the reals would). Our version works on images in [-1, 1] with a white
background: translation and cutout fill with white (+1), the paper of the data, rather than
black, so they remove ink like the chooser's masking instead of adding dark blocks.

Randomness comes from an explicit ``torch.Generator`` (drawn on the CPU, then moved), so a
training run resumed from a checkpoint repeats the same augmentations.
"""

from __future__ import annotations

import torch

from ..core.config import CganParams

OPERATIONS = CganParams.DIFFAUGMENT_OPS  # the names params.yaml accepts
COLOR, TRANSLATION, CUTOUT = OPERATIONS
NONE = "none"
BACKGROUND = 1.0  # white in the [-1, 1] range the GANs train in
TRANSLATION_RATIO = 0.125  # largest shift, as a share of the side (the paper's 1/8)
CUTOUT_RATIO = 0.5  # side of the erased square, as a share of the image side (the paper's)


def parse_policy(policy: str) -> tuple[str, ...]:
    """``"color,translation"`` -> ``("color", "translation")``; ``"none"`` -> ``()``."""
    names = tuple(part.strip() for part in policy.split(",") if part.strip())
    if names in ((), (NONE,)):
        return ()
    unknown = [name for name in names if name not in OPERATIONS]
    if unknown:
        raise ValueError(f"unknown DiffAugment operation {unknown[0]!r}; use 'none' or a "
                         f"comma-separated subset of: {', '.join(OPERATIONS)}")
    return names


def _uniform(n: int, rng: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, generator=rng).to(like.device, like.dtype)


def color(x: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Random brightness (±0.5), saturation (×0..2) and contrast (×0.5..1.5) per image."""
    n = x.shape[0]
    x = x + (_uniform(n, rng, x) - 0.5)
    grey = x.mean(dim=1, keepdim=True)  # saturation is a no-op on one channel, as it should be
    x = (x - grey) * (_uniform(n, rng, x) * 2) + grey
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(n, rng, x) + 0.5) + mean


def translation(x: torch.Tensor, rng: torch.Generator, ratio: float = TRANSLATION_RATIO
                ) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size; uncovered pixels become background."""
    n, _, height, width = x.shape
    reach_y, reach_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    dy = torch.randint(-reach_y, reach_y + 1, (n, 1), generator=rng).to(x.device)
    dx = torch.randint(-reach_x, reach_x + 1, (n, 1), generator=rng).to(x.device)
    rows = torch.arange(height, device=x.device)[None] - dy  # source row of each output row
    cols = torch.arange(width, device=x.device)[None] - dx
    inside = (((rows >= 0) & (rows < height))[:, :, None]
              & ((cols >= 0) & (cols < width))[:, None, :])
    batch = torch.arange(n, device=x.device)[:, None, None]
    # advanced indexing around the channel slice puts channels last: (N, H, W, C)
    moved = x[batch, :, rows.clamp(0, height - 1)[:, :, None],
              cols.clamp(0, width - 1)[:, None, :]].permute(0, 3, 1, 2)
    return torch.where(inside[:, None], moved, torch.full_like(moved, BACKGROUND))


def cutout(x: torch.Tensor, rng: torch.Generator, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """Paint one square of side ``ratio`` × size, at a random centre, with the background."""
    n, _, height, width = x.shape
    size_y, size_x = int(height * ratio + 0.5), int(width * ratio + 0.5)
    top = torch.randint(0, height + (1 - size_y % 2), (n, 1), generator=rng).to(x.device)
    left = torch.randint(0, width + (1 - size_x % 2), (n, 1), generator=rng).to(x.device)
    rows = torch.arange(height, device=x.device)[None] - (top - size_y // 2)
    cols = torch.arange(width, device=x.device)[None] - (left - size_x // 2)
    erased = (((rows >= 0) & (rows < size_y))[:, :, None]
              & ((cols >= 0) & (cols < size_x))[:, None, :])
    return torch.where(erased[:, None], torch.full_like(x, BACKGROUND), x)


_OPERATIONS = {COLOR: color, TRANSLATION: translation, CUTOUT: cutout}


class DiffAugment:
    """Callable ``x -> augmented x`` applying the policy's operations in the paper's order."""

    def __init__(self, policy: str, rng: torch.Generator) -> None:
        self.operations = parse_policy(policy)
        self.rng = rng

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for name in OPERATIONS:  # fixed order whatever the policy string says
            if name in self.operations:
                x = _OPERATIONS[name](x, self.rng)
        return x
