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
- Every (fold, stage) task is a Dask task (:func:`run_graph`) that waits for the stages of its
  fold it reads (:func:`.pipeline.fold_stage_needs`); earlier folds go first, so folds finish
  one after another while independent stages fill the other workers. By default they run on a
  local cluster of ``evaluation.workers`` processes with one thread each (two single-thread
  processes beat one two-thread process on these small networks).
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

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

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
from ..core.progress import CONSOLE_ENV
from ..data.splits import split_counts
from ..data.units import PREPARED, fold_names, read_fold_table

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


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
    still below it (:func:`priorities`), the earlier in this order on a tie.
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
TASK_SECONDS = {VIEW: 10, "choose": 35, "train_cgan@mpcgan_ac": 85, "train_cgan@mpcgan_proj": 130,
                "train_cgan@mpcgan_faithful": 30, "train_cgan@modern_spec": 300,
                "train_cgan@modern_aug": 300, "train_vae": 45, "symp_filter": 20,
                "fidelity": 70, "paper_table": 180, "downstream": 85}
OTHER_TASK_SECONDS = 30


def priorities(graph: Graph) -> dict[tuple[str, str], int]:
    """Dask priority of every task (higher starts first): the longest chain of
    :data:`TASK_SECONDS` from the task to the end of its unit, ties in the graph's order.

    With units one after another, the last unit's long generator run and the stages that wait
    for it would run alone at the end; ordering by the remaining chain interleaves the units.
    """
    children: dict[tuple[str, str], list[tuple[str, str]]] = {(u, s): [] for u, s, _ in graph}
    for unit, stage, needs in graph:
        for need in needs:
            children[(unit, need)].append((unit, stage))
    chain: dict[tuple[str, str], float] = {}
    for unit, stage, _ in reversed(graph):  # the graph lists a task after what it waits for
        below = [chain[child] for child in children[(unit, stage)]]
        chain[(unit, stage)] = (TASK_SECONDS.get(stage, OTHER_TASK_SECONDS)
                                + max(below, default=0.0))
    position = {(u, s): i for i, (u, s, _) in enumerate(graph)}
    order = sorted(chain, key=lambda task: (-chain[task], position[task]))
    return {task: len(order) - rank for rank, task in enumerate(order)}


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


# --------------------------------------------------------------------------- the Dask engine

SCHEDULER_ENV = "GANSEMBLE_SCHEDULER"  # a Dask scheduler's address: run the folds there
STARTED_TOPIC = "gansemble-task-started"  # Dask events: which worker started which task
RERUN_FIX = "fix the cause, then `dvc repro` again: finished generators are re-used"
Graph = list[tuple[str, str, list[str]]]  # (unit, stage, the stages of the unit it waits for)


class TaskFailed(Exception):
    """A task's exception as it travels from a worker: which (unit, stage), and the
    :class:`.errors.DataError` fields of what went wrong (plain values: it pickles)."""

    def __init__(self, unit: str, stage: str, problem: str, path: str | None = None,
                 where: str | None = None, fix: str | None = None) -> None:
        super().__init__(unit, stage, problem, path, where, fix)
        self.unit, self.stage, self.problem = unit, stage, problem
        self.path, self.where, self.fix = path, where, fix

    def __str__(self) -> str:
        return f"{self.stage} in {self.unit}: {self.problem}"


def worker_env() -> dict[str, str]:
    """What every task's process needs in ``os.environ``: one thread for OpenMP, MKL and
    OpenBLAS, no progress bars (those of tasks running at once would overwrite each other:
    one summary line per task), and this process's choice of numerical path."""
    from ..core.numerics import NUMERICS_ENV

    env = dict.fromkeys(THREAD_ENV, "1")
    env[CONSOLE_ENV] = ""
    if NUMERICS_ENV in os.environ:
        env[NUMERICS_ENV] = os.environ[NUMERICS_ENV]
    return env


def _attempt(task: Callable[..., str], root: str, env: dict[str, str], unit: str, stage: str,
             context: tuple, *needs: str) -> str:
    """What a Dask worker runs for one task: in the project at ``root`` (the workers of a
    remote cluster see it on a shared filesystem) with ``env``, ``task(*context, unit, stage,
    *needs)``; its exception comes back as :class:`TaskFailed`, naming the task."""
    from distributed import get_worker

    from ..core.numerics import pin

    worker = get_worker()  # tell the client which task this worker runs, in case it dies
    worker.log_event(STARTED_TOPIC, {"key": worker.get_current_task(), "worker": worker.address})
    os.chdir(root)
    os.environ.update(env)
    pin()  # a remote worker may have started with other variables: the pinned path again
    try:
        return task(*context, unit, stage, *needs)
    except DataError as error:
        raise TaskFailed(unit, stage, error.problem, error.path, error.where,
                         error.fix) from None
    except Exception as error:  # noqa: BLE001 (reported by the client, naming the task)
        raise TaskFailed(unit, stage, f"{type(error).__name__}: {error}") from None


def run_task(params_file: str, first: str, fold: str, stage: str, *_needs: str) -> str:
    """One (fold, stage) task on a worker: the stage's notebook in the fold; its summary
    line (``[fold] stage: ...``). ``_needs``: the summaries of the tasks it waited for.

    The first unit (``first``) runs each notebook in a kernel and keeps the executed notebook;
    the other units run the same cells without a kernel (``runner.run_without_kernel``),
    which saves its start-up. The :data:`VIEW` task writes the unit's data.
    """
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


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The Dask scheduler to run on: ``scheduler``, else ``$GANSEMBLE_SCHEDULER``, else None
    (a local cluster)."""
    return scheduler or os.environ.get(SCHEDULER_ENV, "").strip() or None


@contextlib.contextmanager
def _environ(values: dict[str, str]):
    """``os.environ`` with ``values`` set (the local workers inherit it), restored after."""
    old = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def task_failure(unit: str, stage: str, error: BaseException,
                 by_key: dict[str, tuple[str, str]] | None = None,
                 started: list[dict[str, str]] | None = None) -> DataError:
    """One DataError for the task (``unit``, ``stage``) whose future ended in ``error``, naming
    the unit and stage where it started (a task that waited for a failed one carries the
    failed one's error; ``by_key`` maps Dask keys to tasks). When a worker dies, every task
    it held fails; the one it was running is the last that ``started`` on it (the events
    :func:`_attempt` logs, oldest first)."""
    from distributed import KilledWorker

    if isinstance(error, TaskFailed):
        return DataError(f"{error.stage} in {error.unit} failed: {error.problem}",
                         path=error.path, where=error.where,
                         fix=f"{error.fix}; then {RERUN_FIX}" if error.fix else RERUN_FIX)
    if isinstance(error, KilledWorker):  # a dependent task carries the key that died
        by_key, key = by_key or {}, error.task
        dead = getattr(error.last_worker, "address", None)
        ran = [e["key"] for e in started or [] if e.get("worker") == dead and e.get("key")
               in by_key]
        unit, stage = by_key.get(ran[-1] if ran else key, (unit, stage))
        return DataError(f"the worker running {stage} in {unit} died (killed, or out of "
                         "memory?)", fix=RERUN_FIX)
    if isinstance(error, CancelledError):  # not by us: the scheduler went away, or let it go
        return DataError(f"the Dask scheduler dropped {stage} in {unit} (was it stopped, or "
                         "the connection to it lost?)", fix=RERUN_FIX)
    return DataError(f"{stage} in {unit} failed: {type(error).__name__}: {error}",
                     fix=RERUN_FIX)


def run_graph(graph: Graph, *, task: Callable[..., str] = run_task, context: tuple = (),
              workers: int = 1, scheduler: str | None = None, root: str | Path | None = None,
              echo: Callable[[str], None] = print) -> dict[tuple[str, str], str]:
    """Run every (unit, stage) task of ``graph`` on Dask; returns each task's result.

    A task is ``task(*context, unit, stage, *results of the tasks it waits for)``, a function
    the workers can import; it runs in ``root`` (default: here). By default the tasks run on a
    local cluster of ``workers`` processes with one thread each; ``scheduler`` (or
    ``$GANSEMBLE_SCHEDULER``) names an existing cluster instead, whose workers must see
    ``root`` at the same path. A task is handed to the cluster when what it waits for has
    finished and a worker thread is free, the ready task with the highest :func:`priorities`
    first. ``echo`` gets each result (prefixed ``[unit]`` if it is not already) as its task
    finishes. The first task that fails stops the run: what is pending is cancelled and one
    :class:`.errors.DataError` names the unit and stage; a worker that dies fails its task at
    once.
    """
    import dask
    from distributed import Client, KilledWorker, LocalCluster, as_completed

    root = str(Path(root or Path.cwd()).resolve())
    address = scheduler_address(scheduler)
    env = worker_env()
    logging.getLogger("distributed").setLevel(logging.CRITICAL)  # one line per task
    token = uuid.uuid4().hex[:8]  # keys of two runs sharing a cluster never meet
    # Dask places a ready task by the expected run time of what each worker still has to do,
    # learnt per task prefix (the key up to "-unit-token"), so the prefix is the stage and
    # the first guesses are TASK_SECONDS; with unknown times (0.5 s) it queued a unit's tasks
    # behind the one worker holding that unit's earlier results while the other stood idle.
    durations = {stage: f"{TASK_SECONDS.get(stage, OTHER_TASK_SECONDS)}s"
                 for stage in {stage for _, stage, _ in graph}}
    with dask.config.set({"distributed.scheduler.allowed-failures": 0,
                          "distributed.scheduler.default-task-durations": durations}), \
            _environ(env), \
            contextlib.ExitStack() as stack:
        if address is None:
            cluster = stack.enter_context(LocalCluster(
                n_workers=max(1, min(workers, len(graph))), threads_per_worker=1,
                processes=True, dashboard_address=None, silence_logs=logging.CRITICAL,
                memory_limit=0))  # the notebooks' kernels are processes the worker never sees
            client = stack.enter_context(Client(cluster))
        else:
            try:
                client = stack.enter_context(Client(address))
            except OSError as error:
                raise DataError(f"cannot reach the Dask scheduler at {address}: {error}",
                                fix="start it (`dask scheduler`) and its workers, or unset "
                                    f"{SCHEDULER_ENV} to run on this machine") from None
            if not client.nthreads():
                echo(f"folds: the Dask cluster at {address} has no workers yet: the tasks wait "
                     "for them")
        futures: dict[tuple[str, str], Any] = {}
        by_key: dict[str, tuple[str, str]] = {}
        priority = priorities(graph)
        needs_of: dict[tuple[str, str], list[str]] = {}
        for unit, stage, needs in graph:
            missing = [n for n in needs if (unit, n) not in needs_of]
            if missing:
                raise DataError(f"{stage} in {unit} waits for {', '.join(missing)}, which do "
                                "not come before it", fix="list the tasks in a working order")
            needs_of[(unit, stage)] = needs
        waiting = sorted(needs_of, key=lambda t: -priority[t])
        results: dict[tuple[str, str], str] = {}
        running = as_completed()

        def submit_ready() -> None:
            """Hand the highest-priority tasks whose inputs are done to free worker threads:
            a task submitted only when a thread is free starts on that thread, instead of
            queueing behind a busy worker that holds its unit's earlier results."""
            free = max(1, sum(client.nthreads().values())) - running.count()
            for unit, stage in [t for t in waiting if all(
                    (t[0], n) in results for n in needs_of[t])][:max(0, free)]:
                key = f"{stage}-{unit}-{token}"  # Dask's task prefix is the stage: see above
                futures[(unit, stage)] = client.submit(
                    _attempt, task, root, env, unit, stage, context,
                    *(futures[(unit, n)] for n in needs_of[(unit, stage)]), key=key,
                    priority=priority[(unit, stage)], pure=False)
                by_key[key] = (unit, stage)
                waiting.remove((unit, stage))
                running.add(futures[(unit, stage)])

        try:
            submit_ready()
            for future in running:
                unit, stage = by_key[future.key]
                if future.status != "finished":
                    try:
                        error = future.exception()
                    except CancelledError as cancelled:
                        error = cancelled
                    started = None
                    if isinstance(error, KilledWorker):
                        started = [event for _, event in client.get_events(STARTED_TOPIC)]
                    raise task_failure(unit, stage, error, by_key, started)
                line = str(future.result())
                results[(unit, stage)] = line
                echo(line if line.startswith(f"[{unit}]") else f"[{unit}] {line}")
                submit_ready()
        finally:
            if len(results) < len(futures):
                client.cancel(list(futures.values()), force=True)
    return results


def run_folds(*, workers: int | None = None, params_file: str = "params.yaml",
              scheduler: str | None = None) -> None:
    """All folds' stages on Dask: a local cluster of ``workers`` single-thread processes, or
    the cluster at ``scheduler`` (default ``$GANSEMBLE_SCHEDULER``)."""
    from ..core.config import load_params
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
    run_graph(schedule(names, stages, design), context=(params_file, names[0]),
              workers=workers, scheduler=address,  # each line with when it finished
              echo=lambda line: print(f"{time.perf_counter() - started:5.0f} s  {line}",
                                      flush=True))
    print(f"folds: {len(names)} unit(s) done in {time.perf_counter() - started:.0f} s",
          flush=True)
