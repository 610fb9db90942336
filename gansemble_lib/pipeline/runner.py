"""``gansemble notebook STAGE``: run one stage's notebook with its validated parameters.

What dvc.yaml calls for every notebook stage (see :mod:`.stages`). It reads the stage's
``params.yaml`` section through the typed dataclasses (a bad value stops here, naming the key),
executes the jupytext source with papermill, injecting ``stage``, ``params`` and ``paths``, and
saves the executed copy to ``reports/notebooks/``. The terminal gets the stage's progress bars
and one summary line; a failure prints the notebook's error and where the full traceback is.

Nothing is half-written where DVC caches: papermill saves the notebook after every cell, so it
writes into ``reports/failed/`` (git-ignored, no stage's output), and the finished notebook
replaces the output in one rename. A failed run's notebook stays in ``reports/failed/`` with
its traceback, and the last good executed notebook stays where it was.
"""

from __future__ import annotations

import logging
import os
import time
import warnings
from pathlib import Path
from typing import Any

from ..core.errors import DataError
from ..core.progress import CONSOLE_ENV, SUMMARY_MARK, own_stderr_path
from ..data.dataset import fence_test_split
from ..data.units import with_unit_seed
from .stages import fold_dir, split_stage_name, stage_params, stage_paths

KERNEL = "gansemble"
EXECUTED_DIR = Path("reports") / "notebooks"
FAILED_DIR = Path("reports") / "failed"  # notebooks of failed runs; never a stage's output
TORCH_DEFAULT_SEED = 67280421310721  # fixed global seed before a kernel-less stage


def failed_path(out: Path) -> Path:
    """Where the notebook of a failed run of ``out`` is kept."""
    return FAILED_DIR / (out.relative_to(Path.cwd()) if out.is_absolute() else out)


def executed_path(full: str, fold: str | None = None) -> Path:
    stage, variant = split_stage_name(full)
    name = EXECUTED_DIR / f"{stage.notebook}{'_' + variant if variant else ''}.ipynb"
    return Path(fold_dir(fold)) / name if fold else name


def _plain(value: Any) -> Any:
    """Tuples become lists: papermill writes parameters as Python literals of plain types."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def find_summary(notebook) -> str | None:
    """The line printed by :func:`gansemble_lib.core.progress.summary`, if the notebook printed
    one."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in str(output.get("text", "")).splitlines():
                if line.startswith(SUMMARY_MARK):
                    return line.removeprefix(SUMMARY_MARK)
    return None


def _write_html(notebook_path: Path, html_path: str, *, document: bool = False) -> None:
    """The executed notebook as HTML without code or prompts; ``document`` also leaves out
    printed text (a report says everything through its Markdown, tables and figures)."""
    import nbformat
    from nbconvert import HTMLExporter

    from ..core.io_utils import write_text

    notebook = nbformat.read(notebook_path, as_version=4)
    if document:
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.outputs if o.get("output_type") != "stream"]
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(notebook)
    write_text(html_path, body)


def run_without_kernel(notebook, parameters: dict[str, Any], *, where: Path) -> str | None:
    """Run a notebook's code cells in this process, as a script; returns its summary line.

    What the kernel-less units run (see :func:`run_notebook`): the same cells in the same
    order, the injected parameters set right after the ``parameters`` cell as papermill does,
    matplotlib on its file backend; stdout is kept only to find the summary line, stderr (the
    progress bars) is dropped, as a kernel keeps it in the notebook. A failing
    cell raises DataError naming the cell; its traceback is written to ``where``.
    """
    import contextlib
    import io
    import traceback

    import matplotlib

    matplotlib.use("Agg")
    import random

    import matplotlib.pyplot as plt
    import numpy as np
    import torch

    # fixed global generators: an unseeded draw never depends on what this process ran before
    torch.manual_seed(TORCH_DEFAULT_SEED)
    np.random.seed(0)
    random.seed(0)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    out = io.StringIO()
    code_cells = [c for c in notebook.cells if c.cell_type == "code"]
    try:  # stderr too: progress bars and warnings stay out of the log, as in a kernel
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            for number, cell in enumerate(code_cells, start=1):
                try:
                    exec(compile(cell.source, f"<{where.stem} cell {number}>", "exec"),
                         namespace)
                except Exception as exc:
                    where.parent.mkdir(parents=True, exist_ok=True)
                    where.write_text(traceback.format_exc(), encoding="utf-8")
                    raise DataError(f"stage {parameters['stage']} failed in cell {number}: "
                                    f"{type(exc).__name__}: {exc}", path=where,
                                    fix="the full traceback is there") from None
                if "parameters" in cell.metadata.get("tags", []):
                    namespace.update(parameters)
    finally:
        plt.close("all")
    for line in out.getvalue().splitlines():
        if line.startswith(SUMMARY_MARK):
            return line.removeprefix(SUMMARY_MARK)
    return None


def run_notebook(full: str, *, params_file: str | Path = "params.yaml",
                 kernel: str | None = KERNEL, fold: str | None = None) -> str:
    """Execute one stage's notebook; returns its summary line (raises DataError on failure).

    ``kernel`` None runs the cells in this process without a kernel (:func:`run_without_kernel`;
    the folds stage does so for every unit but the first, whose executed notebooks are kept):
    the same code, without the ~6 s of kernel start-up, and no executed notebook is written.
    """
    import jupytext
    import papermill
    from papermill.exceptions import PapermillExecutionError

    stage, _ = split_stage_name(full)
    if stage.notebook is None:
        raise DataError(f"stage {full} is not a notebook stage",
                        fix=f"run it with `python -m gansemble_lib {stage.command}`")
    source = Path("notebooks") / f"{stage.notebook}.py"
    if not source.is_file():
        raise DataError("notebook source not found", path=source,
                        fix="run from the project root")
    if stage.per_fold and fold is None:
        raise DataError(f"stage {full} runs inside each outer fold",
                        fix=f"run `python -m gansemble_lib fold FOLD --only {full}` (or "
                            "`dvc repro folds` for every fold)")
    values = stage_params(full, params_file)
    if stage.per_fold:  # every unit draws its own random numbers (units.py)
        values = with_unit_seed(values, fold)
    parameters = {"stage": full, "params": _plain(values),
                  "paths": _plain(stage_paths(full, fold))}
    label = f"[{fold}] {full}" if fold else full
    if kernel is None:
        started = time.perf_counter()
        with warnings.catch_warnings(), fence_test_split(full):
            warnings.simplefilter("ignore")
            summary = run_without_kernel(
                jupytext.read(source), parameters,
                where=failed_path(executed_path(full, fold)).with_suffix(".traceback.txt"))
        line = (f"{label}: {summary or 'done'} ({time.perf_counter() - started:.0f} s, "
                "no kernel)")
        print(line, flush=True)
        return line
    out = executed_path(full, fold if stage.per_fold else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    failed = failed_path(out)
    partial = failed.with_name(f"{failed.stem}.running.ipynb")
    partial.parent.mkdir(parents=True, exist_ok=True)
    console = own_stderr_path()
    if console and CONSOLE_ENV not in os.environ:  # `gansemble repro` may name its own terminal
        os.environ[CONSOLE_ENV] = console
    started = time.perf_counter()
    if not fold:  # inside a fold (several run at once) only the result line is printed
        print(f"{label}: {stage.desc}", flush=True)
    logging.getLogger("papermill").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), fence_test_split(full):  # see dataset.py
            warnings.simplefilter("ignore")
            executed = papermill.execute_notebook(
                jupytext.read(source), str(partial), parameters=parameters,
                kernel_name=kernel, progress_bar=False, log_output=False,
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except PapermillExecutionError as exc:
        os.replace(partial, failed)
        raise DataError(f"stage {full} failed in cell {exc.exec_count}: {exc.ename}: "
                        f"{exc.evalue}", path=failed,
                        fix="the executed notebook there shows the full traceback; the last "
                            f"good one (if any) is still at {out}") from None
    except BaseException:
        if partial.exists():
            os.replace(partial, failed)
        raise
    os.replace(partial, out)
    failed.unlink(missing_ok=True)  # an earlier failure of this stage is history now
    if stage.html:
        _write_html(out, stage.html, document=stage.name == "report")
    seconds = time.perf_counter() - started
    line = f"{label}: {find_summary(executed) or 'done'} ({seconds:.0f} s)"
    print(line, flush=True)
    return line
