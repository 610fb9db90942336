"""The Dask engine: a graph of (unit, stage) tasks run on a local cluster or an existing one.

:func:`run_graph` takes tasks as ``(unit, stage, the stages of the same unit it waits for)``
and a function the workers can import that runs one; it knows nothing of what a stage does
(the folds stage's tasks are in :mod:`.folds`). By default the tasks run on a
``LocalCluster`` of single-thread worker processes; ``--scheduler ADDRESS`` (or
``GANSEMBLE_SCHEDULER``) runs the same graph on an existing Dask cluster, whose workers must
see the project directory at the same path. A free worker takes the ready task with the
longest chain of expected work below it (:func:`priorities`). The first task that fails stops
the run with one error naming its unit and stage; a worker that dies fails its task at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Callable
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

from ..core.errors import DataError
from ..core.progress import CONSOLE_ENV

THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")

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


def priorities(graph: Graph, seconds: dict[str, float] | None = None, other: float = 30.0
               ) -> dict[tuple[str, str], int]:
    """Dask priority of every task (higher starts first): the longest chain of expected
    ``seconds`` per stage (``other`` for a stage not listed) from the task to the end of its
    unit, ties in the graph's order.

    With units one after another, the last unit's long generator run and the stages that wait
    for it would run alone at the end; ordering by the remaining chain interleaves the units.
    """
    seconds = seconds or {}
    children: dict[tuple[str, str], list[tuple[str, str]]] = {(u, s): [] for u, s, _ in graph}
    for unit, stage, needs in graph:
        for need in needs:
            children[(unit, need)].append((unit, stage))
    chain: dict[tuple[str, str], float] = {}
    for unit, stage, _ in reversed(graph):  # the graph lists a task after what it waits for
        below = [chain[child] for child in children[(unit, stage)]]
        chain[(unit, stage)] = seconds.get(stage, other) + max(below, default=0.0)
    position = {(u, s): i for i, (u, s, _) in enumerate(graph)}
    order = sorted(chain, key=lambda task: (-chain[task], position[task]))
    return {task: len(order) - rank for rank, task in enumerate(order)}


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


def run_graph(graph: Graph, *, task: Callable[..., str], context: tuple = (),
              seconds: dict[str, float] | None = None, other_seconds: float = 30.0,
              workers: int = 1, scheduler: str | None = None, root: str | Path | None = None,
              echo: Callable[[str], None] = print) -> dict[tuple[str, str], str]:
    """Run every (unit, stage) task of ``graph`` on Dask; returns each task's result.

    A task is ``task(*context, unit, stage, *results of the tasks it waits for)``, a function
    the workers can import; it runs in ``root`` (default: here). By default the tasks run on a
    local cluster of ``workers`` processes with one thread each; ``scheduler`` (or
    ``$GANSEMBLE_SCHEDULER``) names an existing cluster instead, whose workers must see
    ``root`` at the same path. A task is handed to the cluster when what it waits for has
    finished and a worker thread is free, the ready task with the highest :func:`priorities`
    first (from the expected ``seconds`` per stage: they only order the tasks, never change a
    result). ``echo`` gets each result (prefixed ``[unit]`` if it is not already) as its task
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
    # the first guesses are ``seconds``; with unknown times (0.5 s) it queued a unit's tasks
    # behind the one worker holding that unit's earlier results while the other stood idle.
    seconds = seconds or {}
    durations = {stage: f"{seconds.get(stage, other_seconds)}s"
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
        priority = priorities(graph, seconds, other_seconds)
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
