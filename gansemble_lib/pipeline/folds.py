"""Outer cross-validation: every learning and selecting stage runs inside each fold.

``prepare`` writes, beside the working images, ``folds.csv``: for every sample its part
(train / val / test / unused) in each outer fold. The ``folds`` stage then runs the stages
marked ``per_fold`` in :mod:`.stages` (chooser, generators, VAEs, filters, fidelity,
downstream classifiers) once per fold, in ``folds/<fold>/`` with the project's own layout:

- ``folds/<fold>/data/prepared`` is the fold's *view* of the prepared data: the same images and
  spectra, with the manifest's split column set to that fold's parts. Every stage reads its
  training and inner-validation data through :meth:`.dataset.PreparedData.subset`, so nothing
  that learns or selects can see the fold's test part, which only the final scoring reads
  (:meth:`.dataset.PreparedData.test_for_evaluation`).
- Every (fold, stage) task is a Dask task (:func:`.engine.run_graph`) that waits for the
  stages of its fold it reads (:func:`.stages.fold_stage_needs`); earlier folds go first, so
  folds finish one after another while independent stages fill the other workers. By default
  they run on a local cluster of ``evaluation.workers`` processes with one thread each (two
  single-thread processes beat one two-thread process on these small networks).
- ``gansemble folds --scheduler ADDRESS`` (or ``GANSEMBLE_SCHEDULER=ADDRESS``) runs the same
  tasks on an existing Dask cluster (``dask scheduler`` and ``dask worker``, or a batch system
  through dask-jobqueue). Its workers must see the project directory at the same path (a
  shared filesystem): a task changes into it, runs its stage's notebook there and returns the
  summary line, which this process prints as tasks finish. Start them with one thread each.
- The results do not depend on how many workers there are or where a task runs: every task
  runs with one thread (OpenMP, MKL, OpenBLAS and PyTorch), on the pinned floating-point path
  (:mod:`.numerics`, set again in each task), with seeds of its own fold, in a fresh kernel.
- The first task that fails stops the run (what is pending is cancelled) with one error naming
  its fold and stage; a worker that dies (killed, out of memory) fails its task at once.

``gansemble fold FOLD`` runs one fold by hand (``--only STAGE`` one stage of it);
``gansemble folds`` is what ``dvc repro`` calls.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pandas as pd

from ..core.constants import (
    FOLDS_FILE,
    IMAGES_FILE,
    LABEL,
    MANIFEST_FILE,
    PREPARED_INFO_FILE,
    SAMPLE_ID,
    SPECTRA_FILE,
    SPLIT,
)
from ..core.errors import DataError
from ..core.io_utils import atomic_dir, write_json, write_text
from ..data.splits import split_counts
from ..data.units import PREPARED, fold_names, read_fold_table
from .engine import run_graph, scheduler_address


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def write_fold_view(fold: str, prepared_dir: str | Path = PREPARED,
                    out_dir: str | Path | None = None) -> Path:
    """Write ``folds/<fold>/data/prepared``: the prepared data with this fold's parts (for
    a simulated replicate, its own new dataset and fresh test set: :mod:`.replicates`)."""
    from .stages import fold_dir

    prepared_dir = Path(prepared_dir)
    out_dir = Path(out_dir or f"{fold_dir(fold)}/{PREPARED}")
    info = json.loads((prepared_dir / PREPARED_INFO_FILE).read_text(encoding="utf-8"))
    if info.get("design") == "replicates":
        from ..data.replicates import draw_replicate

        return draw_replicate(fold, prepared_dir, out_dir)
    table = read_fold_table(prepared_dir)
    if fold not in table.columns:
        raise DataError(f"no fold {fold!r} in {FOLDS_FILE}", path=prepared_dir / FOLDS_FILE,
                        fix=f"use one of: {', '.join(fold_names(prepared_dir))}")
    manifest = pd.read_csv(prepared_dir / MANIFEST_FILE, dtype={"source": str})
    if not manifest[SAMPLE_ID].equals(table[SAMPLE_ID]):
        raise DataError("folds.csv and manifest.csv list different samples",
                        path=prepared_dir, fix="re-run the prepare stage")
    manifest[SPLIT] = table[fold].to_numpy()
    info = json.loads((prepared_dir / PREPARED_INFO_FILE).read_text(encoding="utf-8"))
    info["counts"] = split_counts(manifest[LABEL], manifest[SPLIT], info["classes"])
    info["fold"] = fold
    with atomic_dir(out_dir) as tmp:
        for name in (IMAGES_FILE, SPECTRA_FILE):
            if (prepared_dir / name).is_file():
                _link_or_copy(prepared_dir / name, tmp / name)
        manifest.to_csv(tmp / MANIFEST_FILE, index=False, lineterminator="\n")
        write_json(tmp / PREPARED_INFO_FILE, info)
    return out_dir


def run_fold(fold: str, *, only: list[str] | None = None, params_file: str = "params.yaml"
             ) -> list[str]:
    """Every per-fold stage (or those in ``only``) for one fold, in order; their summaries."""
    from ..data.dataset import read_prepared_info
    from .runner import run_notebook
    from .stages import fold_stages, runs_in_unit

    modality = read_prepared_info(PREPARED)["modality"]
    stages = fold_stages(modality, params_file)
    unknown = sorted(set(only or []) - set(stages))
    if unknown:
        raise DataError(f"not a per-fold stage: {', '.join(unknown)}",
                        fix=f"use one of: {', '.join(stages)}")
    write_fold_view(fold)
    first, design = fold_names()[0], read_prepared_info(PREPARED).get("design", "cv")
    return [run_notebook(name, params_file=params_file, fold=fold)
            for name in stages if (not only or name in only)
            and runs_in_unit(name, fold, first, design)]


VIEW = "view"  # the first task of every unit: write its data (write_fold_view)


def schedule(folds: list[str], stages: list[str], design: str = "cv"
             ) -> list[tuple[str, str, list[str]]]:
    """Every (unit, stage) task with the tasks of the same unit it waits for, units first.

    Each unit starts with its :data:`VIEW` task (the fold's view of the data, or the drawing
    of a replicate), which every stage of the unit waits for. Each task comes after what it
    waits for; on the Dask cluster a free worker takes the ready task with the longest chain
    still below it (:func:`.engine.priorities` with :data:`TASK_SECONDS`), the earlier in
    this order on a tie.
    """
    from .stages import fold_stage_needs, runs_in_unit

    graph = []
    for fold in folds:
        graph.append((fold, VIEW, []))
        graph += [(fold, name, [VIEW, *fold_stage_needs(name, stages)]) for name in stages
                  if runs_in_unit(name, fold, folds[0], design)]
    return graph


# Rough seconds of a task on the laptop profile (README, "Where the time goes"). They only
# order the ready tasks on the cluster, longest remaining chain first, so that the last
# unit's generators do not start when every other worker is idle; they never change a result.
TASK_SECONDS = {VIEW: 10, "choose": 35, "train_cgan@mpcgan_aug": 30, "train_cgan@spectrum": 15,
                "train_cgan@mpcgan_ac": 85, "train_cgan@mpcgan_proj": 130,
                "train_cgan@mpcgan_faithful": 30, "train_cgan@modern_spec": 300,
                "train_cgan@modern_aug": 300, "train_vae": 45, "symp_filter": 15,
                "fidelity": 70, "paper_table": 180, "downstream": 75}
OTHER_TASK_SECONDS = 30


SETTINGS_FILE = "settings.sha256"  # in folds/: what the files there were computed from


def settings_fingerprint(modality: str, params_file: str | Path = "params.yaml",
                         prepared_dir: str | Path = PREPARED) -> str:
    """A hash of what every per-fold result depends on besides the code: the prepared data
    (every file, with the outer folds) and the values of the parameters the per-fold stages
    read."""
    import hashlib

    import yaml

    from .dvc_yaml import folds_params

    digest = hashlib.sha256()
    for path in sorted(p for p in Path(prepared_dir).rglob("*") if p.is_file()):
        digest.update(path.relative_to(prepared_dir).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    params = yaml.safe_load(Path(params_file).read_text(encoding="utf-8")) or {}
    for key in folds_params(modality):
        section, _, name = key.partition(".")
        value = params.get(section)
        value = value.get(name) if name and isinstance(value, dict) else value
        digest.update(json.dumps([key, value], sort_keys=True, default=str).encode() + b"\0")
    return digest.hexdigest()


def start_clean_if_settings_changed(fingerprint: str, folds_dir: str | Path | None = None
                                    ) -> bool:
    """Empty ``folds/`` when its files were computed from other data or parameters; returns
    whether it did.

    DVC keeps ``folds/`` between runs (``persist``) so that a stopped run resumes where it was
    and finished generators are re-used. Files from *other* settings (a fold that no longer
    exists, a generator variant no longer trained) would then stay and be cached with the new
    results; a fingerprint of the data and parameters decides, and a change empties the
    folder first. (A code change keeps it: every task reruns, and checkpoints carry their own
    code fingerprint, see :mod:`.gan_training`.)
    """
    from .stages import FOLDS_DIR

    folds_dir = Path(folds_dir or FOLDS_DIR)
    marker = folds_dir / SETTINGS_FILE
    recorded = marker.read_text(encoding="utf-8").strip() if marker.is_file() else None
    emptied = False
    if folds_dir.exists() and recorded != fingerprint and any(folds_dir.iterdir()):
        shutil.rmtree(folds_dir)
        emptied = True
    folds_dir.mkdir(parents=True, exist_ok=True)
    write_text(marker, fingerprint + "\n")
    return emptied


def run_task(params_file: str, first: str, fold: str, stage: str, *_needs: str) -> str:
    """One (fold, stage) task on a worker: the stage's notebook in the fold; its summary
    line (``[fold] stage: ...``). ``_needs``: the summaries of the tasks it waited for.

    The first unit (``first``) runs each notebook in a kernel and keeps the executed notebook;
    the other units run the same cells without a kernel (``runner.run_without_kernel``),
    which saves its start-up. The :data:`VIEW` task writes the unit's data.
    """
    import contextlib
    import io

    import torch

    from .runner import KERNEL, run_notebook

    torch.set_num_threads(1)
    if stage == VIEW:
        started = time.perf_counter()
        out = write_fold_view(fold)
        info = json.loads((out / PREPARED_INFO_FILE).read_text(encoding="utf-8"))
        what = (f"drew replicate (simulator seed {info['simulation']['seed']}): "
                if info.get("design") == "replicates" else "the fold's view of the data: ")
        parts = ", ".join(f"{part} {sum(n.values())}" for part, n in info["counts"].items()
                          if sum(n.values()))
        return f"[{fold}] {VIEW}: {what}{parts} ({time.perf_counter() - started:.0f} s)"
    with contextlib.redirect_stdout(io.StringIO()):  # the client prints the line, once
        return run_notebook(stage, params_file=params_file, fold=fold,
                            kernel=KERNEL if fold == first else None)


def run_folds(*, workers: int | None = None, params_file: str = "params.yaml",
              scheduler: str | None = None) -> None:
    """All folds' stages on Dask: a local cluster of ``workers`` single-thread processes, or
    the cluster at ``scheduler`` (default ``$GANSEMBLE_SCHEDULER``)."""
    from ..core.params_io import load_params
    from ..data.dataset import read_prepared_info
    from .stages import fold_stages

    names = fold_names()
    info = read_prepared_info(PREPARED)
    modality, design = info["modality"], info.get("design", "cv")
    stages = fold_stages(modality, params_file)
    workers = max(1, workers or load_params(params_file, "evaluation").workers)
    address = scheduler_address(scheduler)
    where = (f"on the Dask cluster at {address}" if address
             else f"{workers} at a time, one thread each")
    kind = "simulated replicate(s)" if design == "replicates" else "outer fold(s)"
    print(f"folds: {len(names)} {kind} ({', '.join(names)}) x {len(stages)} stages, "
          f"{where}", flush=True)
    started = time.perf_counter()
    if start_clean_if_settings_changed(settings_fingerprint(modality, params_file)):
        print("folds: the data or parameters changed since the files in folds/ were written: "
              "started from an empty folds/ (nothing of the earlier settings is kept)",
              flush=True)
    run_graph(schedule(names, stages, design), task=run_task,
              context=(params_file, names[0]), seconds=TASK_SECONDS,
              other_seconds=OTHER_TASK_SECONDS,
              workers=workers, scheduler=address,  # each line with when it finished
              echo=lambda line: print(f"{time.perf_counter() - started:5.0f} s  {line}",
                                      flush=True))
    print(f"folds: {len(names)} unit(s) done in {time.perf_counter() - started:.0f} s",
          flush=True)
