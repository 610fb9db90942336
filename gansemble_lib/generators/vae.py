"""Class-specific VAEs and synthesis by latent interpolation (De La Fuente et al. 2024).

One small convolutional VAE per class. A new image of class k is the decoded mix
``z = (1 - a) * z1 + a * z2`` of the posterior means of two distinct real train images of
class k, with ``a`` uniform in ``[alpha_min, alpha_max]``; plain prior sampling is kept for
comparison. :class:`VaeEnsemble` holds every class's VAE together with those posterior means
and offers the generator interface of :mod:`.interface`, so later stages treat it like the
cGAN. Training, resume and evaluation live in :mod:`.vae_training`.

The decoder returns logits: ``sigmoid`` gives pixels in [0, 1] (the image range, white = 1)
and the reconstruction term is the Bernoulli log-likelihood, which suits these nearly binary
line drawings better than a squared error that the white background would dominate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..core.numerics import channels_last
from .interface import check_class_index, to_uint8

KIND = "vae"
INTERPOLATE, PRIOR = "interpolate", "prior"
# Below this size the encoder stops halving: a 4x4 map is the usual DCGAN-style bottleneck.
_BOTTOM = 4
_DECODE_BATCH = 256


def _levels(size: int) -> list[int]:
    """Spatial sizes of the encoder's feature maps, from the image down to the bottleneck."""
    sizes = [size]
    while sizes[-1] // 2 >= _BOTTOM:
        sizes.append(sizes[-1] // 2)
    return sizes


class ConvVae(nn.Module):
    """Strided convolutions down to a small map, a dense layer to (mu, log variance), mirrored.

    No batch normalisation: a class may have three train images, too few for batch statistics.
    Odd sizes work: each transposed convolution's ``output_padding`` restores the exact size
    its mirrored convolution halved.
    """

    def __init__(self, *, image_shape: tuple[int, int, int], latent_dim: int, width: int) -> None:
        super().__init__()
        channels, height, width_px = image_shape
        if height != width_px:
            raise ValueError(f"square images expected, got {height}x{width_px}")
        sizes = _levels(height)
        filters = [channels] + [width * 2**i for i in range(len(sizes) - 1)]
        down: list[nn.Module] = []
        for c_in, c_out in zip(filters[:-1], filters[1:], strict=True):
            down += [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.LeakyReLU(0.2)]
        self.encoder = nn.Sequential(*down, nn.Flatten())
        self.bottom = (filters[-1], sizes[-1], sizes[-1])
        flat = filters[-1] * sizes[-1] ** 2
        self.to_stats = nn.Linear(flat, 2 * latent_dim)
        self.from_latent = nn.Linear(latent_dim, flat)
        up: list[nn.Module] = []
        pairs = list(zip(filters[:0:-1], filters[-2::-1], sizes[-2::-1], strict=True))
        for i, (c_in, c_out, target) in enumerate(pairs):
            up.append(nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, output_padding=target % 2))
            if i < len(pairs) - 1:
                up.append(nn.LeakyReLU(0.2))
        self.decoder = nn.Sequential(*up)
        self.latent_dim, self.width = latent_dim, width
        channels_last(self)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log variance for images in [0, 1]."""
        mu, logvar = self.to_stats(self.encoder(x * 2 - 1)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits; ``sigmoid`` of them is the image in [0, 1]."""
        x = F.leaky_relu(self.from_latent(z), 0.2).view(-1, *self.bottom)
        return self.decoder(x).contiguous()


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) per sample, summed over the latent dimensions."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(dim=1)


def kl_weight(epoch: int, *, beta: float, warmup: int) -> float:
    """KL weight of an epoch (0-based): rises linearly from 0 to ``beta`` over ``warmup`` epochs.

    Starting near a plain autoencoder lets the decoder learn the curves before the prior pulls
    the codes together (the usual remedy for posterior collapse on small data).
    """
    return beta if warmup == 0 else beta * min(1.0, epoch / warmup)


def vae_loss(model: ConvVae, x: torch.Tensor, noise: torch.Tensor, weight: float
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Batch means of (weighted total, reconstruction, KL), in nats per image.

    ``noise`` is the reparameterisation's standard normal draw, passed in so that the caller's
    seeded generator (saved in checkpoints) is the only source of randomness.
    """
    mu, logvar = model.encode(x)
    z = mu + (0.5 * logvar).exp() * noise
    recon = F.binary_cross_entropy_with_logits(model.decode(z), x, reduction="none")
    recon = recon.flatten(1).sum(dim=1).mean()
    kl = kl_divergence(mu, logvar).mean()
    return recon + weight * kl, recon, kl


def interpolate(z1: torch.Tensor, z2: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Rows ``(1 - alpha) * z1 + alpha * z2``; alpha 0 and 1 return z1 and z2 exactly."""
    alpha = alpha.to(z1.dtype).unsqueeze(1)
    return (1 - alpha) * z1 + alpha * z2


def draw_pairs(n_images: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` ordered pairs of distinct indices, uniform over all n_images * (n_images - 1).

    The second index is the first shifted by 1..n_images-1, so every image is equally likely
    in either role and no pair is favoured (sampling two and redrawing ties would be too, but
    needs a loop).
    """
    if n_images < 2:
        raise ValueError(f"interpolation needs two images of the class, got {n_images}")
    first = rng.integers(n_images, size=n)
    return first, (first + rng.integers(1, n_images, size=n)) % n_images


@dataclass
class VaeEnsemble:
    """All classes' VAEs plus the posterior (mu, log variance) of each class's train images.

    ``codes[k]`` rows follow the order of ``images[labels == k]`` in the train subset, so
    ``interpolation_strip(k, i, j, ...)`` refers to the i-th and j-th train image of class k.
    """

    classes: tuple[str, ...]
    image_shape: tuple[int, int, int]
    models: list[ConvVae]
    codes: list[tuple[torch.Tensor, torch.Tensor]]
    sampling: str = INTERPOLATE
    alpha_min: float = 0.0
    alpha_max: float = 1.0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    def __post_init__(self) -> None:
        for model in self.models:
            model.to(self.device).eval()

    @property
    def single_image_classes(self) -> tuple[int, ...]:
        """Classes with one train image: interpolation falls back to that image's posterior."""
        return tuple(k for k, (mu, _) in enumerate(self.codes) if len(mu) < 2)

    @torch.no_grad()
    def decode(self, class_index: int, z: torch.Tensor) -> np.ndarray:
        """Latent codes -> uint8 images (n, C, H, W), decoded in batches."""
        model = self.models[class_index]
        parts = [to_uint8(torch.sigmoid(model.decode(z[i:i + _DECODE_BATCH].to(self.device)))
                          * 2 - 1) for i in range(0, len(z), _DECODE_BATCH)]
        return np.concatenate(parts) if parts else np.zeros((0, *self.image_shape), np.uint8)

    def sample_codes(self, class_index: int, n: int, seed: int) -> torch.Tensor:
        """The latent codes that :meth:`generate` decodes (exposed for tests and figures)."""
        check_class_index(class_index, self.classes)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        rng = np.random.default_rng([seed, class_index])
        mu, logvar = self.codes[class_index]
        if self.sampling == PRIOR:
            return torch.from_numpy(rng.standard_normal((n, mu.shape[1]), dtype=np.float32))
        if len(mu) < 2:
            warnings.warn(f"class {self.classes[class_index]!r} has one train image: nothing to "
                          "interpolate, sampling its posterior instead", stacklevel=3)
            eps = torch.from_numpy(rng.standard_normal((n, mu.shape[1]), dtype=np.float32))
            return mu[0] + (0.5 * logvar[0]).exp() * eps
        first, second = draw_pairs(len(mu), n, rng)
        alpha = torch.from_numpy(rng.uniform(self.alpha_min, self.alpha_max, size=n))
        return interpolate(mu[first], mu[second], alpha)

    def generate(self, class_index: int, n: int, seed: int) -> np.ndarray:
        """``n`` uint8 images (n, C, H, W) of class ``class_index``; same seed, same images."""
        return self.decode(class_index, self.sample_codes(class_index, n, seed))

    def interpolation_strip(self, class_index: int, i: int, j: int,
                            alphas: np.ndarray) -> np.ndarray:
        """Decoded path from train image i to train image j of the class, one image per alpha."""
        mu = self.codes[class_index][0]
        alpha = torch.as_tensor(np.asarray(alphas, dtype=np.float32))
        return self.decode(class_index, interpolate(mu[[i] * len(alpha)],
                                                    mu[[j] * len(alpha)], alpha))

    @torch.no_grad()
    def reconstruct(self, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Each image decoded from its posterior mean by its own class's VAE (uint8)."""
        out = np.empty_like(images)
        for k in np.unique(labels):
            idx = np.flatnonzero(labels == k)
            mu, _ = self.models[k].encode(to_unit(images[idx]).to(self.device))
            out[idx] = self.decode(int(k), mu)
        return out


def to_unit(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float in [0, 1], the VAE's pixel range."""
    return torch.from_numpy(np.ascontiguousarray(images)).float() / 255.0


def from_checkpoint(checkpoint: dict[str, Any], device: str | torch.device = "cpu") -> VaeEnsemble:
    """Rebuild the generator from a finished checkpoint (see :func:`generators.load_generator`)."""
    if checkpoint.get("progress") is not None or any(m is None for m in checkpoint["models"]):
        raise ValueError("this VAE checkpoint is from an unfinished run; rerun the train_vae "
                         "stage to complete it (it resumes)")
    shape = tuple(checkpoint["image_shape"])
    models = []
    for state in checkpoint["models"]:
        model = ConvVae(image_shape=shape, **checkpoint["architecture"])
        model.load_state_dict(state)
        models.append(model)
    codes = [(c["mu"].cpu(), c["logvar"].cpu()) for c in checkpoint["codes"]]
    sampling = checkpoint["sampling"]
    return VaeEnsemble(tuple(checkpoint["classes"]), shape, models, codes,
                       sampling=sampling["mode"], alpha_min=sampling["alpha_min"],
                       alpha_max=sampling["alpha_max"], device=torch.device(device))


def interpolation_examples(ensemble: VaeEnsemble, images: np.ndarray, labels: np.ndarray,
                           alphas: np.ndarray, *, seed: int) -> dict[str, np.ndarray]:
    """Per class with two or more train images: one random pair's real images around its path.

    ``images``/``labels`` must be the train subset the ensemble was trained on (the pair's
    indices refer to it). Values are uint8 (len(alphas) + 2, C, H, W): real A, path, real B.
    """
    rng = np.random.default_rng(seed)
    strips = {}
    for k, name in enumerate(ensemble.classes):
        real = images[labels == k]
        if len(real) >= 2:
            (i,), (j,) = draw_pairs(len(real), 1, rng)
            path = ensemble.interpolation_strip(k, i, j, alphas)
            strips[name] = np.concatenate([real[i:i + 1], path, real[j:j + 1]])
    return strips
