"""The pinned floating-point path: set by importing the package, effective in child processes,
and it makes training independent of what the shell or the CPU would otherwise choose."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gansemble_lib import numerics
from gansemble_lib.errors import DataError
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
