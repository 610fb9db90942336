"""Shared fixtures: repository paths, the optional RaMPP data, and a throw-away project copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RAMPP = REPO.parent / "shared" / "data" / "rampp"
needs_rampp = pytest.mark.skipif(
    not RAMPP.is_dir(),
    reason=f"real RaMPP spectra not found at {RAMPP} (only present beside the development "
           "checkout; users' clones do not have it)")

# What a project copy needs: the tracked sources, not outputs or the environment.
_ANYWHERE = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache",
                                   "cache", "tmp")
_AT_THE_TOP = {".venv", ".git", "data", "reports", "models", "folds", "runs"}


def COPY_IGNORE(directory: str, names: list[str]) -> set[str]:  # noqa: N802
    """What a copy of the project leaves out: outputs and environments at its top, caches
    anywhere (``gansemble_lib/data`` is code, only the top-level ``data/`` is output)."""
    top = _AT_THE_TOP & set(names) if Path(directory).resolve() == REPO.resolve() else set()
    return set(_ANYWHERE(directory, names)) | top


def run(cmd: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output when it fails."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env, **kwargs)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stdout}\n"
                    f"{result.stderr}")
    return result


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models gain nothing from threads, and on a busy machine threads spin and stall.
    Module scope: a module's reference runs and the runs compared with them use one setting."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the project (no git, no outputs) where DVC can run freely."""
    dest = tmp_path / "project"
    shutil.copytree(REPO, dest, ignore=COPY_IGNORE)
    run([sys.executable, "-m", "dvc", "config", "core.no_scm", "true"], dest)
    return dest
