"""The image cGAN networks: a faithful MPcGAN port and a modern small-data alternative.

Both generators take ``(z, labels)`` and return images in [-1, 1]; both discriminators take
``(images, labels)`` and return one raw score (logit) per image, so the training loop
(:mod:`.gan_training`) only chooses the loss.

**MPcGAN** follows the GANsemble authors' Keras code layer by layer (see
``shared/PAPERS.md`` §1): the label enters as one extra feature map (embedding of size 50 ->
dense -> reshape), there is no normalisation, and weights start from Keras' defaults
(Glorot-uniform kernels, zero biases, U(-0.05, 0.05) embeddings) so that the port begins
training where the original did. At 128×128×3, width 128, z 100 and 10 classes the generator
has 13,842,167 parameters, the Keras model's count.

**Modern** uses what small-data GAN work found to matter: class-conditional batch norm in the
generator (the label modulates every layer, not just the first), nearest-neighbour upsampling
plus 3×3 convolutions (no checkerboard artefacts of transposed convolutions), and a
spectrally normalised projection discriminator (Miyato & Koyama 2018) whose class signal is
the inner product of a class embedding with the pooled image features.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..core.numerics import channels_last

MPCGAN, MPCGAN_PROJ, MPCGAN_AC, MODERN = "mpcgan", "mpcgan_proj", "mpcgan_ac", "modern"
ARCHITECTURES = (MPCGAN, MPCGAN_PROJ, MPCGAN_AC, MODERN)
LEAK = 0.2  # LeakyReLU slope everywhere, as in the paper


def _check_size(height: int, width: int, factor: int, architecture: str) -> None:
    if height % factor or width % factor:
        raise ValueError(f"{architecture} needs image sides divisible by {factor}, got "
                         f"{height}×{width}; choose prepare.image_size accordingly")


def keras_init(module: nn.Module) -> None:
    """Keras' default initialisers, so the port starts from the original's distribution."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Embedding):
            nn.init.uniform_(layer.weight, -0.05, 0.05)


class LabelMap(nn.Module):
    """Label -> embedding -> dense -> one (H, W) feature map, MPcGAN's way in for the class."""

    def __init__(self, n_classes: int, embedding: int, height: int, width: int) -> None:
        super().__init__()
        self.shape = (1, height, width)
        self.embed = nn.Embedding(n_classes, embedding)
        self.dense = nn.Linear(embedding, height * width)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return self.dense(self.embed(labels)).view(-1, *self.shape)


class MpcganGenerator(nn.Module):
    def __init__(self, *, image_shape: tuple[int, int, int], n_classes: int, z_dim: int = 100,
                 width: int = 128, embedding: int = 50) -> None:
        super().__init__()
        channels, height, wide = image_shape
        _check_size(height, wide, 4, MPCGAN)
        self.base = (width, height // 4, wide // 4)
        self.label_map = LabelMap(n_classes, embedding, height // 4, wide // 4)
        self.dense = nn.Linear(z_dim, width * (height // 4) * (wide // 4))
        self.body = nn.Sequential(
            # kernel 4, stride 2, padding 1 doubles the size exactly, like Keras' 'same'
            nn.ConvTranspose2d(width + 1, width, 4, stride=2, padding=1), nn.LeakyReLU(LEAK),
            nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.LeakyReLU(LEAK),
            # Keras' 'same' for an even kernel pads 3 before and 4 after
            nn.ZeroPad2d((3, 4, 3, 4)), nn.Conv2d(width, channels, 8), nn.Tanh(),
        )
        keras_init(self)
        channels_last(self)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = nn.functional.leaky_relu(self.dense(z), LEAK).view(-1, *self.base)
        return self.body(torch.cat([x, self.label_map(labels)], dim=1)).contiguous()


class MpcganDiscriminator(nn.Module):
    """MPcGAN's discriminator; ``projection`` or ``auxiliary`` add a conditioning fix of ours.

    The fix adds a projection term (Miyato & Koyama 2018) to the score: the inner product of a
    class embedding with the flattened features, ``<embed(y), h>``. The embedding starts at
    zero, so at initialisation the network is exactly the paper's; the label map stays. In the
    paper's network the label reaches the score only through one input channel whose values
    are tiny next to the pixels, so its gradient is too weak to learn from in a few hundred
    steps; the projection term's gradient with respect to the class is the features themselves.

    ``auxiliary=True`` adds an auxiliary classifier (AC-GAN, Odena et al. 2017): a linear head
    on the same features that predicts the class (:meth:`heads`); the ``acgan`` recipe of
    :mod:`.gan_training` trains D to classify real and generated images and G to be
    classified as its label. It is created after the paper's layers are initialised, so the
    rest of the network starts exactly as the paper's.
    """

    def __init__(self, *, image_shape: tuple[int, int, int], n_classes: int, width: int = 128,
                 embedding: int = 50, dropout: float = 0.4, projection: bool = False,
                 auxiliary: bool = False) -> None:
        super().__init__()
        channels, height, wide = image_shape
        _check_size(height, wide, 4, MPCGAN)
        self.label_map = LabelMap(n_classes, embedding, height, wide)
        features = width * (height // 4) * (wide // 4)
        self.features = nn.Sequential(
            nn.Conv2d(channels + 1, width, 3, stride=2, padding=1), nn.LeakyReLU(LEAK),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.LeakyReLU(LEAK),
            nn.Flatten(), nn.Dropout(dropout),
        )
        self.linear = nn.Linear(features, 1)
        keras_init(self)
        self.projection = nn.Embedding(n_classes, features) if projection else None
        if self.projection is not None:
            nn.init.zeros_(self.projection.weight)
        self.classifier = nn.Linear(features, n_classes) if auxiliary else None
        channels_last(self)

    def heads(self, images: torch.Tensor, labels: torch.Tensor
              ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(real/fake score, class logits of the auxiliary head or None)."""
        h = self.features(torch.cat([images, self.label_map(labels)], dim=1))
        score = self.linear(h).squeeze(1)
        if self.projection is not None:
            score = score + (self.projection(labels) * h).sum(dim=1)
        return score, None if self.classifier is None else self.classifier(h)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.heads(images, labels)[0]


class ConditionalBatchNorm(nn.Module):
    """Batch norm whose scale and shift come from the class: gain 1 + γ[y], bias β[y]."""

    def __init__(self, features: int, n_classes: int, dims: int = 2) -> None:
        super().__init__()
        self.norm = (nn.BatchNorm2d if dims == 2 else nn.BatchNorm1d)(features, affine=False)
        self.gain = nn.Embedding(n_classes, features)
        self.bias = nn.Embedding(n_classes, features)
        nn.init.zeros_(self.gain.weight)  # starts as plain batch norm
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        shape = (-1, x.shape[1]) + (1,) * (x.dim() - 2)
        gain = 1 + self.gain(labels).view(shape)
        return self.norm(x) * gain + self.bias(labels).view(shape)


class UpBlock(nn.Module):
    """Nearest ×2 upsampling, 3-wide convolution, class-conditional batch norm, ReLU."""

    def __init__(self, c_in: int, c_out: int, n_classes: int, dims: int = 2) -> None:
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv1d
        self.conv = conv(c_in, c_out, 3, padding=1)
        self.norm = ConditionalBatchNorm(c_out, n_classes, dims)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = nn.functional.interpolate(x, scale_factor=2, mode="nearest")
        return nn.functional.relu(self.norm(self.conv(x), labels))


class ModernGenerator(nn.Module):
    """[z, embed(y)] -> dense -> (4w, H/8, W/8) -> three conditional up-blocks -> conv + tanh.

    The label enters twice: concatenated to the noise, which conditions the layout from the
    first step, and through the conditional batch norms, which start neutral and learn to
    modulate every scale.
    """

    def __init__(self, *, image_shape: tuple[int, int, int], n_classes: int, z_dim: int = 100,
                 width: int = 64, embedding: int = 50) -> None:
        super().__init__()
        channels, height, wide = image_shape
        _check_size(height, wide, 8, MODERN)
        self.base = (4 * width, height // 8, wide // 8)
        self.embed = nn.Embedding(n_classes, embedding)
        self.dense = nn.Linear(z_dim + embedding, 4 * width * (height // 8) * (wide // 8))
        self.blocks = nn.ModuleList([UpBlock(4 * width, 2 * width, n_classes),
                                     UpBlock(2 * width, width, n_classes),
                                     UpBlock(width, width, n_classes)])
        self.out = nn.Conv2d(width, channels, 3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = self.dense(torch.cat([z, self.embed(labels)], dim=1)).view(-1, *self.base)
        for block in self.blocks:
            x = block(x, labels)
        return torch.tanh(self.out(x))


class ProjectionDiscriminator(nn.Module):
    """Spectrally normalised convolutions, a dense feature layer, and the projection head.

    The score is ``ψ(h) + <embed(y), h>`` for features ``h``: the label enters as an inner
    product rather than an input channel, which the projection paper showed conditions far
    more reliably. Unlike SNGAN, ``h`` comes from a dense layer over the whole feature map
    instead of a global sum: in a polar image (or a spectrum) *where* a peak sits is what
    tells the classes apart, and a sum over positions would throw that away. ``dims=1`` gives
    the 1-D version used by the spectrum GAN; ``positions`` is the number of cells in the
    last feature map (input size / 8 per axis).
    """

    def __init__(self, *, in_channels: int, n_classes: int, positions: int, width: int = 64,
                 dims: int = 2) -> None:
        super().__init__()
        conv = nn.Conv2d if dims == 2 else nn.Conv1d
        layers: list[nn.Module] = [spectral_norm(conv(in_channels, width, 3, padding=1)),
                                   nn.LeakyReLU(LEAK)]
        for c_in, c_out in ((width, width), (width, 2 * width), (2 * width, 4 * width)):
            layers += [spectral_norm(conv(c_in, c_out, 4, stride=2, padding=1)),
                       nn.LeakyReLU(LEAK)]
        layers += [nn.Flatten(), spectral_norm(nn.Linear(4 * width * positions, 4 * width)),
                   nn.LeakyReLU(LEAK)]
        self.features = nn.Sequential(*layers)
        self.linear = spectral_norm(nn.Linear(4 * width, 1))
        self.embed = spectral_norm(nn.Embedding(n_classes, 4 * width))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        return self.linear(h).squeeze(1) + (self.embed(labels) * h).sum(dim=1)


def build_image_models(architecture: str, *, image_shape: tuple[int, int, int], n_classes: int,
                       z_dim: int, width: int, embedding: int, dropout: float
                       ) -> tuple[nn.Module, nn.Module]:
    """Generator and discriminator of ``architecture`` for images of ``image_shape``."""
    if architecture in (MPCGAN, MPCGAN_PROJ, MPCGAN_AC):
        return (MpcganGenerator(image_shape=image_shape, n_classes=n_classes, z_dim=z_dim,
                                width=width, embedding=embedding),
                MpcganDiscriminator(image_shape=image_shape, n_classes=n_classes, width=width,
                                    embedding=embedding, dropout=dropout,
                                    projection=architecture == MPCGAN_PROJ,
                                    auxiliary=architecture == MPCGAN_AC))
    if architecture == MODERN:
        return (ModernGenerator(image_shape=image_shape, n_classes=n_classes, z_dim=z_dim,
                                width=width, embedding=embedding),
                ProjectionDiscriminator(in_channels=image_shape[0], n_classes=n_classes,
                                        positions=(image_shape[1] // 8) * (image_shape[2] // 8),
                                        width=width))
    raise ValueError(f"unknown architecture {architecture!r}; use one of: "
                     f"{', '.join(ARCHITECTURES)}")


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
