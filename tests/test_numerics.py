"""The pinned floating-point path: set by importing the package, effective in child processes,
and it makes training independent of what the shell or the CPU would otherwise choose."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gansemble_lib.core import numerics
from gansemble_lib.core.errors import DataError
from tests.conftest import REPO

# A few hundred Adam steps of a small convolutional network: enough for the order of sums to
# show in the weights' last bits.
_TRAIN = """
import gansemble_lib  # pins the path before torch loads
import hashlib, torch
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 5), torch.nn.ReLU(), torch.nn.Flatten(),
                          torch.nn.Linear(8 * 28 * 28, 10))
opt = torch.optim.Adam(net.parameters(), 1e-3)
g = torch.Generator().manual_seed(1)
x, y = torch.randn(64, 1, 32, 32, generator=g), torch.randint(0, 10, (64,), generator=g)
for _ in range(60):
    opt.zero_grad()
    torch.nn.functional.cross_entropy(net(x), y).backward()
    opt.step()
w = torch.cat([p.detach().flatten() for p in net.parameters()]).numpy()
print(hashlib.sha256(w.tobytes()).hexdigest(), torch.backends.cpu.get_cpu_capability())
"""
# What another machine's shell or CPU would choose: two threads, PyTorch's plain loops, oneDNN
# capped at AVX, MKL on its SSE4.2 path.
ANOTHER_MACHINE = {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2",
                   "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "AVX",
                   "MKL_CBWR": "SSE4_2"}


def _train(env: dict[str, str]) -> tuple[str, str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in numerics.PINS and k != numerics.NUMERICS_ENV}
    done = subprocess.run([sys.executable, "-c", _TRAIN], cwd=REPO, capture_output=True,
                          text=True, env={**clean, **env}, check=True)
    digest, capability = done.stdout.split()
    return digest, capability


def test_pin_sets_every_variable_and_replaces_the_shells_values():
    environ = {"OMP_NUM_THREADS": "8", "PATH": "/bin"}
    changed = numerics.pin(environ)
    assert {k: environ[k] for k in numerics.PINS} == numerics.PINS
    assert changed["OMP_NUM_THREADS"] == "1" and environ["PATH"] == "/bin"
    assert numerics.pin(environ) == {}  # nothing left to change


def test_native_leaves_the_environment_alone_and_a_typo_is_an_error():
    environ = {numerics.NUMERICS_ENV: "native", "OMP_NUM_THREADS": "8"}
    assert numerics.pin(environ) == {} and environ["OMP_NUM_THREADS"] == "8"
    assert "ATEN_CPU_CAPABILITY" not in environ
    with pytest.raises(DataError, match="GANSEMBLE_NUMERICS='pinnned'"):
        numerics.pin({numerics.NUMERICS_ENV: "pinnned"})


def test_importing_the_package_pinned_this_process():
    assert numerics.mode() == numerics.PINNED
    assert all(os.environ.get(k) == v for k, v in numerics.PINS.items())
    assert numerics.describe()["torch_cpu_capability"] == "AVX2"


@pytest.mark.slow
def test_training_on_the_pinned_path_ignores_another_machines_choices():
    """Native, those choices change the trained weights (so the comparison can fail); pinned,
    the same training gives the same bits whatever the shell set."""
    native = _train({numerics.NUMERICS_ENV: "native"})
    native_other = _train({numerics.NUMERICS_ENV: "native", **ANOTHER_MACHINE})
    assert native_other[0] != native[0] and native_other[1] == "DEFAULT"
    pinned = _train({})
    assert pinned[1] == "AVX2"
    assert _train(ANOTHER_MACHINE) == pinned


def test_channels_last_networks_compute_what_the_default_order_computes():
    """The layout only reorders memory: every 2-D network gives the same outputs and
    gradients (to float rounding) as a copy of itself in PyTorch's default order."""
    import copy

    import torch

    from gansemble_lib.evaluation.classifiers import LeNet, SmallResNet
    from gansemble_lib.generators.cgan_models import MpcganDiscriminator, MpcganGenerator
    from gansemble_lib.generators.vae import ConvVae

    torch.manual_seed(0)
    x3 = torch.rand(4, 3, 32, 32)
    z, y = torch.randn(4, 8), torch.tensor([0, 1, 2, 1])
    cases = [
        (LeNet(in_channels=3, n_classes=3, size=32), lambda m: m(x3)),
        (SmallResNet(in_channels=3, n_classes=3, width=8), lambda m: m(x3)),
        (ConvVae(image_shape=(3, 32, 32), latent_dim=4, width=4),
         lambda m: m.decode(m.encode(x3)[0])),
        (MpcganGenerator(image_shape=(3, 32, 32), n_classes=3, z_dim=8, width=4, embedding=5),
         lambda m: m(z, y)),
        (MpcganDiscriminator(image_shape=(3, 32, 32), n_classes=3, width=4, embedding=5,
                             dropout=0.0, auxiliary=True), lambda m: m.heads(x3, y)[1]),
    ]
    for model, run in cases:
        conv = next(p for p in model.parameters() if p.dim() == 4)
        assert conv.is_contiguous(memory_format=torch.channels_last), type(model).__name__
        plain = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
        out, ref = run(model), run(plain)
        assert out.is_contiguous()  # what leaves a network is in the default order
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)
        out.square().sum().backward()
        ref.square().sum().backward()
        torch.testing.assert_close(conv.grad, next(p for p in plain.parameters()
                                                   if p.dim() == 4).grad, rtol=1e-4, atol=1e-6)


def test_a_network_that_would_crash_in_channels_last_order_stays_in_the_default_order():
    import torch

    from gansemble_lib.evaluation.classifiers import SmallResNet

    narrow = SmallResNet(in_channels=1, n_classes=3, width=4)  # strided 1x1 conv from 4
    conv = next(p for p in narrow.parameters() if p.dim() == 4 and p.shape[1] > 1)
    assert not conv.is_contiguous(memory_format=torch.channels_last)
    narrow(torch.rand(4, 1, 32, 32)).square().sum().backward()  # and it trains
    wide = SmallResNet(in_channels=1, n_classes=3, width=8)
    assert next(p for p in wide.parameters() if p.dim() == 4 and p.shape[1] > 1
                ).is_contiguous(memory_format=torch.channels_last)

