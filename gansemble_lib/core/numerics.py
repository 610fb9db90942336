"""The pinned floating-point path: the same instruction set on every x86-64 machine.

Training amplifies the last bits of every sum, and which kernel computes a sum depends on the
CPU: PyTorch's own loops dispatch to AVX-512 where a CPU has it and to AVX2 where it does not;
oneDNN (convolutions) and MKL (matrix products) pick their kernels by instruction set, and
MKL's by core type too; NumPy's OpenBLAS by core type; NumPy's own loops by instruction set.
Two CPUs then sum in different orders and a generator trained for a thousand steps ends
somewhere else (a modern cGAN that fails the gate on one machine passed it on another).

Every library named above has a documented switch that caps or fixes its choice. The
**pinned path** sets them all to AVX2, which every x86-64 CPU of the last ten years (Intel
Haswell and later, AMD Zen and later) has, so such CPUs run kernels of the same instruction
set. That makes a rerun bit-identical on the same CPU, but not across CPUs: an Intel Xeon and
an AMD EPYC, both pinned, agreed on 318 of 1,036 numbers of the default run (2026-12-04;
docs/verify.md), as far apart as the native path on one CPU. The pins:

- ``ATEN_CPU_CAPABILITY=avx2`` (PyTorch's vectorised loops),
- ``ONEDNN_MAX_CPU_ISA=AVX2`` (oneDNN convolutions, PyTorch's CPU backend),
- ``MKL_CBWR=AVX2,STRICT`` (MKL's conditional numerical reproducibility: the AVX2 code path,
  and results independent of the core type and alignment),
- ``OPENBLAS_CORETYPE=Haswell`` (OpenBLAS under NumPy and SciPy: the AVX2 kernels),
- ``NPY_DISABLE_CPU_FEATURES`` without the AVX-512 groups (NumPy's own loops),
- one thread per process (``OMP/MKL/OPENBLAS_NUM_THREADS=1``): a sum split over threads is
  ordered by the thread count.

:func:`pin` puts these into ``os.environ`` before any numerical library loads: importing the
package does it first thing, so the command line and every stage, worker and notebook kernel
it starts run on the pinned path. The pins replace what the shell had set (a cluster's
``OMP_NUM_THREADS=8``, say, would otherwise change the numbers). ``GANSEMBLE_NUMERICS=native``
turns the pinning off: each library then takes its fastest path, or what the shell sets (that
is how ``benchmarks/bench_numerics.py`` stands in for other CPUs).
:func:`describe` says which path a process actually ran on; the colophon records it.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

NUMERICS_ENV = "GANSEMBLE_NUMERICS"
PINNED, NATIVE = "pinned", "native"
THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
PINS: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "AVX2,STRICT",
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
    **dict.fromkeys(THREADS, "1"),
}


def mode(environ: MutableMapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    value = environ.get(NUMERICS_ENV, PINNED).strip().lower() or PINNED
    if value not in (PINNED, NATIVE):
        from .errors import DataError

        raise DataError(f"{NUMERICS_ENV}={value!r} is not a numerical path",
                        fix=f"set it to {PINNED} (the default) or {NATIVE}, or unset it")
    return value


def pin(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the pins (nothing under ``GANSEMBLE_NUMERICS=native``); returns the variables whose
    value it changed. Has an effect only on libraries loaded after it, and on child processes."""
    environ = os.environ if environ is None else environ
    if mode(environ) == NATIVE:
        return {}
    changed = {key: value for key, value in PINS.items() if environ.get(key) != value}
    environ.update(PINS)
    return changed


def describe(environ: MutableMapping[str, str] | None = None) -> dict[str, object]:
    """The numerical path of this process: the mode, the pin variables as set, and which
    kernels the loaded libraries report (PyTorch's capability, its MKL and oneDNN)."""
    environ = os.environ if environ is None else environ
    record: dict[str, object] = {"mode": mode(environ),
                                 "variables": {key: environ.get(key) for key in PINS}}
    try:
        import torch

        record["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
        record["torch_threads"] = torch.get_num_threads()
    except ImportError:  # pragma: no cover - torch is a pinned dependency
        pass
    return record


def channels_last(module):
    """Store a 2-D convolutional network's 4-D weights in channels-last order; returns it.

    oneDNN's convolution and pooling kernels for few channels are up to twice as fast in
    that order on the pinned AVX2 path (benchmarks/bench_layout.py: an MPcGAN training step
    1.8x, LeNet 1.4x, the VAE 1.2x), and a convolution whose weight is channels-last
    computes in that order whatever its input's. The networks compute the same functions;
    only the order of the last-bit sums changes, so results are as reproducible as before,
    not equal to those of the other order.

    A network with a strided 1x1 convolution from fewer than 8 channels stays in the default
    order: on the AVX2 path that convolution's backward pass crashes the process in
    channels-last order (PyTorch 2.14.1, e.g. a small ResNet 4 filters wide; the project's
    networks are wider).
    """
    import torch
    from torch import nn

    for layer in module.modules():
        if (isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1)
                and layer.stride != (1, 1) and layer.in_channels < 8):
            return module
    return module.to(memory_format=torch.channels_last)


def resolve_device(name: str = "auto"):
    """The torch device of a ``device`` parameter: ``auto`` picks CUDA when present, else CPU;
    asking for CUDA without one is an error."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' was requested but no CUDA device is available; "
                           "use device: auto or cpu")
    return torch.device(name)
