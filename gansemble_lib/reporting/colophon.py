"""What produced a report: code version, pipeline state, packages, machine."""

from __future__ import annotations

import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from ..core.io_utils import sha256_file

PACKAGES = ("numpy", "pandas", "scipy", "scikit-learn", "torch", "torchvision", "torch-fidelity",
            "dvc", "papermill", "jupytext", "matplotlib", "seaborn", "imbalanced-learn", "baycomp",
            "statsmodels")


# What a pipeline run itself rewrites before its results are committed: a change there does
# not make the code that produced the report differ from HEAD.
RUN_OUTPUTS = ("reports/", "dvc.lock", "README.md", "RESULTS.md", "benchmarks/results/")


def git_commit(root: str | Path = ".") -> str:
    """HEAD's commit, with ``+dirty`` when tracked files other than the run's own outputs
    (:data:`RUN_OUTPUTS`) differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    changed = [line[3:].strip() for line in status.splitlines() if line.strip()]
    dirty = [path for path in changed if not path.startswith(RUN_OUTPUTS)]
    return head + ("+dirty" if dirty else "")


def file_sha256(path: str | Path) -> str:
    path = Path(path)
    return sha256_file(path) if path.is_file() else "missing"


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    """What floating-point results depend on: CPU, threads, BLAS builds, device."""
    import os
    import re

    import numpy as np
    import torch

    build = torch.__config__.show()
    blas = re.search(r"BLAS_INFO=(\w+)", build)
    numpy_blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    device = (f"CUDA {torch.cuda.get_device_name(0)}" if torch.cuda.is_available()
              else "CPU (no GPU)")
    from ..core.numerics import describe

    path = describe()
    pins = ", ".join(f"{k}={v}" for k, v in path["variables"].items() if v is not None)
    return {"cpu": f"{cpu_model()}, {os.cpu_count()} logical CPUs",
            "numerical path": f"{path['mode']} (torch CPU capability "
                              f"{path.get('torch_cpu_capability')}; {pins or 'no pins'})",
            "threads": "one torch/BLAS thread per process on the pinned path, "
                       f"evaluation.workers tasks at once ({torch.get_num_threads()} here)",
            "torch BLAS": f"{blas.group(1) if blas else 'unknown'} (torch {torch.__version__})",
            "numpy BLAS": f"{numpy_blas.get('name')} {numpy_blas.get('version', '')}".strip(),
            "device": device}


def colophon(root: str | Path = ".", *, extractor: str | None = None) -> dict[str, str]:
    info = {"git commit": git_commit(root),
            "dvc.lock sha256": file_sha256(Path(root) / "dvc.lock"),
            "python": sys.version.split()[0], "platform": platform.platform(), **machine()}
    if extractor:
        info["fidelity extractor"] = extractor
    return {**info, **package_versions()}
