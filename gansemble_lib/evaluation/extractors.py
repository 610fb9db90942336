"""Which network turns images into features for FID, KID, IS and precision/recall.

Policy (DESIGN.md section 4), applied by :func:`resolve_extractor`:

1. The standard ``inception-v3-compat`` network of torch-fidelity, whose numbers can be
   compared with the literature, whenever its weights are at hand: a configured local file,
   else torch-fidelity's own download location (``$TORCH_HOME/hub/checkpoints``), else a
   download -- only if the caller allows network access.
2. Otherwise a *domain* extractor: a small classifier trained on the real train split,
   registered with torch-fidelity under :data:`DOMAIN`. Its numbers are only comparable
   with other numbers from the same weights file.

Whichever is chosen, the result names it and the sha256 of the weights file that was loaded,
and a fallback says so in one line: no fidelity number is ever unlabelled.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

from ..core.io_utils import atomic_file, sha256_file
from .classifiers import TrainSettings, make_classifier, train_classifier

STANDARD = "inception-v3-compat"
DOMAIN = "gansemble-domain"
INCEPTION_URL = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/"
                 "weights-inception-2015-12-05-6726825d.pth")
INCEPTION_FILE = INCEPTION_URL.rsplit("/", 1)[1]
INCEPTION_FEATURES = 2048
FEATURE, LOGITS = "feature", "logits"
_DOMAIN_KIND = "gansemble-domain-extractor"
CPU = torch.device("cpu")


@dataclass(frozen=True)
class Extractor:
    """A feature extractor as the metrics need it, with its provenance.

    ``name`` is the torch-fidelity registry name; ``channels`` is what its input must have
    (None: any); ``feature_dim`` sizes the small-N warning of FID.
    """

    name: str
    weights_path: str | None
    weights_sha256: str | None
    feature_dim: int
    channels: int | None = None
    notice: str = ""


def ink_input(x: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, C, H, W) of any C, H, W -> (N, 1, size, size) float ink map in [0, 1].

    Channels are averaged (grey and RGB renders of one curve give the same input) and the
    image is inverted like ``classifiers.to_tensor``, so the background is zero.
    """
    ink = 1.0 - x.float().mean(dim=1, keepdim=True) / 255.0
    if ink.shape[-2:] != (size, size):
        mode = "area" if ink.shape[-1] > size else "bilinear"
        ink = F.interpolate(ink, size=(size, size), mode=mode)
    return ink


def _split(model: nn.Module) -> tuple[nn.Module, nn.Module]:
    """(everything up to the last layer, last linear layer) of a ``classifiers`` network."""
    *body, head = model.children()
    return nn.Sequential(*body, *head[:-1]), head[-1]


class DomainFeatureExtractor(FeatureExtractorBase):
    """torch-fidelity wrapper of a classifier trained on the real train split.

    ``feature`` (the penultimate layer) serves FID, KID and precision/recall; ``logits`` serve
    IS. Weights come only from ``feature_extractor_weights_path``: there is deliberately no
    random-initialisation fallback, which would produce plausible-looking nonsense.
    """

    def __init__(self, name: str, features_list: list[str],
                 feature_extractor_weights_path: str | None = None, **kwargs) -> None:
        super().__init__(name, features_list)
        if feature_extractor_weights_path is None:
            raise ValueError(f"the {DOMAIN} extractor needs feature_extractor_weights_path")
        model, meta = load_domain_network(feature_extractor_weights_path)
        self.size = meta["size"]
        self.body, self.last = _split(model)
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_provided_features_list() -> tuple[str, str]:
        return (FEATURE, LOGITS)

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return LOGITS if metric == "isc" else FEATURE

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 1, 32, 32, dtype=torch.uint8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if x.dtype != torch.uint8 or x.dim() != 4:
            raise ValueError(f"expected uint8 (N, C, H, W) images, got {x.dtype} {tuple(x.shape)}")
        feature = self.body(ink_input(x, self.size))
        out = {FEATURE: feature, LOGITS: self.last(feature)}
        return tuple(out[name] for name in self.features_list)


def register_domain_extractor() -> None:
    """Register :class:`DomainFeatureExtractor` with torch-fidelity (once per process)."""
    if DOMAIN not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(DOMAIN, DomainFeatureExtractor)


def save_domain_network(model: nn.Module, path: str | Path, *, arch: str, size: int,
                        classes: tuple[str, ...]) -> str:
    """Write a domain network with what is needed to rebuild it; return the file's sha256.

    The file is written through a byte buffer so that the same weights give the same bytes,
    hence the same hash, on every rerun.
    """
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    checkpoint = {"kind": _DOMAIN_KIND, "arch": arch, "size": size, "classes": list(classes),
                  "state_dict": state}
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    with atomic_file(path, "wb") as handle:
        handle.write(buffer.getvalue())
    return sha256_file(path)


def train_domain_extractor(images: np.ndarray, labels: np.ndarray, path: str | Path, *,
                           classes: tuple[str, ...], arch: str = "resnet", size: int = 32,
                           epochs: int = 30, batch_size: int = 32, lr: float = 2e-3,
                           seed: int = 0, device: torch.device = CPU) -> str:
    """Train the domain network on real TRAIN images, save it, return the file's sha256."""
    torch.manual_seed(seed)
    model = make_classifier(arch, in_channels=1, n_classes=len(classes), size=size)
    x = ink_input(torch.from_numpy(np.ascontiguousarray(images)), size)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=lr)
    model = train_classifier(model, x, labels, settings=settings, seed=seed, device=device)
    return save_domain_network(model, path, arch=arch, size=size, classes=classes)


def load_domain_network(path: str | Path) -> tuple[nn.Module, dict]:
    """The domain network (eval mode) and metadata saved by :func:`train_domain_extractor`."""
    checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, dict) or checkpoint.get("kind") != _DOMAIN_KIND:
        raise ValueError(f"{path} is not a domain extractor file (written by "
                         "train_domain_extractor)")
    model = make_classifier(checkpoint["arch"], in_channels=1,
                            n_classes=len(checkpoint["classes"]), size=checkpoint["size"])
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval(), {k: v for k, v in checkpoint.items() if k != "state_dict"}


def domain_extractor(path: str | Path, *, notice: str = "") -> Extractor:
    """The :data:`DOMAIN` extractor loading ``path``, registered and described."""
    register_domain_extractor()
    model, _ = load_domain_network(path)
    _, last = _split(model)
    return Extractor(DOMAIN, str(path), sha256_file(path), last.in_features, None, notice)


def standard_weights(configured: str | Path | None, *, allow_network: bool,
                     hub_dir: str | Path | None = None) -> Path | None:
    """The Inception-v3 weights file to use, or None when there is none to be had.

    Looks at the configured path, then where torch-fidelity caches its download; downloads
    there only when ``allow_network`` is set. A failed download is reported, not raised.
    """
    if configured and Path(configured).is_file():
        return Path(configured)
    cached = Path(hub_dir or torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE
    if cached.is_file():
        return cached
    if not allow_network:
        return None
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        torch.hub.download_url_to_file(INCEPTION_URL, str(cached), progress=False)
    except OSError as exc:  # URLError is an OSError: no network, DNS, refused, ...
        print(f"Inception-v3 download failed ({exc})", file=sys.stderr)
        return None
    return cached


def torchscript_inception(path: str | Path | None) -> Extractor | None:
    """The fetched TorchScript Inception-v3 (:mod:`.inception`) at ``path``, registered with
    torch-fidelity, or None when there is no file there (``gansemble fetch-inception``)."""
    from . import inception

    if not path or not Path(path).is_file():
        return None
    inception.register()
    return Extractor(inception.NAME, str(path), sha256_file(path), inception.FEATURES, 3)


def resolve_extractor(*, inception_weights: str | Path | None, allow_network: bool,
                      domain_weights: str | Path, hub_dir: str | Path | None = None
                      ) -> Extractor:
    """Apply the extractor policy (module docstring); a fallback prints a one-line notice."""
    weights = standard_weights(inception_weights, allow_network=allow_network, hub_dir=hub_dir)
    if weights is not None:
        return Extractor(STANDARD, str(weights), sha256_file(weights), INCEPTION_FEATURES, 3)
    where = f"{inception_weights} or " if inception_weights else ""
    notice = (f"notice: no Inception-v3 weights ({where}torch hub cache; network "
              f"{'failed' if allow_network else 'not allowed'}), so fidelity uses the domain "
              f"extractor {Path(domain_weights).name}: numbers are not comparable with "
              "Inception-based FID/IS in the literature")
    print(notice, file=sys.stderr)
    return domain_extractor(domain_weights, notice=notice)
