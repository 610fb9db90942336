"""The folds stage's Dask engine (engine.run_graph) on a tiny graph of fake tasks.

The workers are separate processes, so the fake task is a top-level function here (the workers
import it) and what it does is driven by ``plan.json`` in the directory it runs in: no notebook
and no kernel runs. Each task records when it started and ended, in which process and directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import CancelledError
from pathlib import Path
from types import SimpleNamespace

import pytest

from gansemble_lib import cli
from gansemble_lib.core.errors import DataError
from gansemble_lib.core.progress import CONSOLE_ENV
from gansemble_lib.pipeline import engine, folds
from tests.conftest import REPO

# Three units of four stages: b and c read a, d reads b and c.
STAGES = (("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"]))
UNITS = ("u0", "u1", "u2")
GRAPH = [(unit, stage, needs) for unit in UNITS for stage, needs in STAGES]


def fake_task(label: str, unit: str, stage: str, *needs: str) -> str:
    """A stand-in for folds.run_task, run on a worker in the test's directory."""
    record = {"start": time.time(), "pid": os.getpid(), "cwd": os.getcwd()}
    action = json.loads(Path("plan.json").read_text()).get(f"{unit}/{stage}", "sleep")
    runs = Path("runs")
    runs.mkdir(exist_ok=True)
    (runs / f"{unit}_{stage}.started").write_text("")
    if action == "raise":
        raise ValueError("the fake stage broke")
    if action == "die":  # a while after it started, as a stage that runs out of memory
        time.sleep(0.5)
        os._exit(1)
    time.sleep(0.1)
    record["end"] = time.time()
    (runs / f"{unit}_{stage}.json").write_text(json.dumps(record))
    read = ", ".join(need.split(":")[0] for need in needs) or "nothing"
    env = ", ".join(f"{key}={os.environ.get(key)!r}" for key in (*engine.THREAD_ENV, CONSOLE_ENV))
    # the result depends on what the task read, never on where or when it ran
    return f"[{unit}] {stage}: {label} after {read} ({env})"


def _run(root: Path, plan: dict[str, str] | None = None, **kwargs) -> tuple[dict, list[str]]:
    root.mkdir(parents=True, exist_ok=True)
    (root / "plan.json").write_text(json.dumps(plan or {}))
    lines: list[str] = []
    results = engine.run_graph(GRAPH, task=fake_task, context=("fake",), root=root,
                              echo=lines.append, **kwargs)
    return results, lines


def _records(root: Path) -> dict[tuple[str, str], dict]:
    return {tuple(path.stem.split("_")): json.loads(path.read_text())
            for path in (root / "runs").glob("*.json")}


def test_the_fold_graph_lists_each_folds_stages_after_what_they_read():
    from gansemble_lib.pipeline.stages import fold_stages

    stages = fold_stages("spectra", REPO / "params.yaml")
    graph = folds.schedule(["r0f0", "r0f1"], stages)
    assert [(u, s) for u, s, _ in graph if s == "paper_table"] in ([], [("r0f0", "paper_table")])
    for position, (unit, stage, needs) in enumerate(graph):
        earlier = {(u, s) for u, s, _ in graph[:position]}
        assert {(unit, need) for need in needs} <= earlier, (unit, stage)
    assert [u for u, _, _ in graph] == sorted(u for u, _, _ in graph)  # folds first
    assert all(folds.VIEW in needs for _, s, needs in graph if s != folds.VIEW)
    # the replicates design describes fidelity in the first replicate only
    replicated = folds.schedule(["rep00", "rep01"], stages, "replicates")
    assert [u for u, s, _ in replicated if s == "fidelity"] == ["rep00"]
    assert [u for u, s, _ in graph if s == "fidelity"] == ["r0f0", "r0f1"]


@pytest.mark.slow
def test_tasks_wait_for_what_they_read_and_the_worker_count_changes_nothing(tmp_path):
    two, lines = _run(tmp_path / "two", workers=2)
    one, _ = _run(tmp_path / "one", workers=1)
    assert set(two) == {(unit, stage) for unit, stage, _ in GRAPH}
    assert two == one  # the same tasks, the same results
    assert two[("u1", "d")].startswith("[u1] d: fake after [u1] b, [u1] c (OMP_NUM_THREADS='1'")
    assert f"{CONSOLE_ENV}=''" in two[("u1", "d")]  # no progress bars from parallel tasks
    assert sorted(lines) == sorted(two.values())  # one line per task, as each finished
    for root, workers in ((tmp_path / "two", 2), (tmp_path / "one", 1)):
        records = _records(root)
        for unit, stage, needs in GRAPH:
            assert records[(unit, stage)]["cwd"] == str(root.resolve())
            for need in needs:  # started only after what it reads had finished
                assert records[(unit, stage)]["start"] >= records[(unit, need)]["end"]
        assert len({r["pid"] for r in records.values()}) == workers
        assert records[("u0", "d")]["end"] < records[("u2", "d")]["end"]  # units in order


def test_a_failing_task_stops_the_run_naming_its_unit_and_stage(tmp_path):
    with pytest.raises(DataError) as caught:
        _run(tmp_path, {"u0/b": "raise"}, workers=1)
    message = str(caught.value)
    assert message.startswith("b in u0 failed: ValueError: the fake stage broke")
    assert "finished generators are re-used" in message
    assert not (tmp_path / "runs" / "u0_d.started").exists()  # it read the failed one


def test_a_stage_error_keeps_its_message_and_says_where_it_started():
    from distributed import KilledWorker

    failed = engine.TaskFailed("r0f1", "fidelity", "stage fidelity failed in cell 3: boom",
                              path="reports/failed/x.ipynb", fix="the notebook shows why")
    error = engine.task_failure("r0f1", "downstream", failed)  # downstream carries it
    assert str(error) == ("reports/failed/x.ipynb: fidelity in r0f1 failed: stage fidelity "
                          "failed in cell 3: boom. Fix: the notebook shows why; then fix the "
                          "cause, then `dvc repro` again: finished generators are re-used")
    died = KilledWorker("r0f1/choose-0a1b2c3d", None, 0)
    error = engine.task_failure("r0f1", "symp_filter", died,
                               {"r0f1/choose-0a1b2c3d": ("r0f1", "choose")})
    assert str(error).startswith("the worker running choose in r0f1 died (killed, or out of "
                                 "memory?)")
    # a task that started on the dead worker after it (the events say) was the one it ran
    started = [{"key": "r0f1/choose-0a1b2c3d", "worker": "tcp://a"},
               {"key": "r0f2/train_vae-0a1b2c3d", "worker": "tcp://b"}]
    error = engine.task_failure("r0f1", "choose", KilledWorker(
        "r0f1/choose-0a1b2c3d", SimpleNamespace(address="tcp://b"), 0),
        {"r0f1/choose-0a1b2c3d": ("r0f1", "choose"),
         "r0f2/train_vae-0a1b2c3d": ("r0f2", "train_vae")}, started)
    assert str(error).startswith("the worker running train_vae in r0f2 died")
    error = engine.task_failure("r0f0", "choose", CancelledError())
    assert str(error).startswith("the Dask scheduler dropped choose in r0f0")


KILL_SCRIPT = """
import time
from pathlib import Path
from gansemble_lib.pipeline import folds
from gansemble_lib.core.errors import DataError
from tests import test_dask_engine as t

started = time.time()
try:
    t._run(Path({root!r}), {{"u0/c": "die"}}, workers=2)
except DataError as error:
    print("ERROR", error, round(time.time() - started))
"""


@pytest.mark.slow
def test_a_killed_worker_is_reported_not_waited_for(tmp_path):
    result = subprocess.run([sys.executable, "-c", KILL_SCRIPT.format(root=str(tmp_path))],
                            cwd=REPO, capture_output=True, text=True, timeout=180)
    assert "ERROR the worker running c in u0 died (killed, or out of memory?)" in result.stdout, (
        result.stdout + result.stderr)
    assert not (tmp_path / "runs" / "u0_d.started").exists()
    assert "Traceback" not in result.stderr, result.stderr  # Dask's own log stays quiet


@pytest.mark.slow
def test_an_existing_cluster_runs_the_graph_by_flag_or_environment(tmp_path, monkeypatch):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids = set(client.run(os.getpid).values())
        by_flag, _ = _run(tmp_path / "flag", scheduler=cluster.scheduler_address)
        monkeypatch.setenv(engine.SCHEDULER_ENV, cluster.scheduler_address)
        by_env, _ = _run(tmp_path / "env")
        for root in (tmp_path / "flag", tmp_path / "env"):
            assert {r["pid"] for r in _records(root).values()} == pids  # its worker ran them
    assert set(by_flag) == set(by_env) == {(unit, stage) for unit, stage, _ in GRAPH}


def test_the_folds_command_passes_the_scheduler_on(monkeypatch):
    calls = []
    monkeypatch.setattr(folds, "run_folds", lambda **kwargs: calls.append(kwargs))
    assert cli.main(["folds", "--scheduler", "tcp://10.0.0.5:8786", "--workers", "3"]) == 0
    assert calls == [{"workers": 3, "params_file": "params.yaml",
                      "scheduler": "tcp://10.0.0.5:8786"}]
    monkeypatch.setenv(engine.SCHEDULER_ENV, "tcp://10.0.0.6:8786")
    assert engine.scheduler_address() == "tcp://10.0.0.6:8786"
    assert engine.scheduler_address("tcp://10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    monkeypatch.setenv(engine.SCHEDULER_ENV, "")
    assert engine.scheduler_address() is None


def test_ready_tasks_start_longest_remaining_chain_first():
    from gansemble_lib.pipeline.stages import fold_stages

    stages = fold_stages("spectra", REPO / "params.yaml")
    graph = folds.schedule(["rep00", "rep01", "rep02"], stages, "replicates")
    priority = engine.priorities(graph, folds.TASK_SECONDS, folds.OTHER_TASK_SECONDS)
    assert sorted(priority.values()) == list(range(1, len(graph) + 1))  # a strict order
    # the last unit's longest generator goes before the first unit's downstream scoring,
    # which nothing waits for, and before a generator of its own unit that costs less
    assert priority[("rep02", "train_vae")] > priority[("rep00", "downstream")]
    assert priority[("rep02", "train_vae")] > priority[("rep02", "train_cgan@spectrum")]
    for unit, stage, needs in graph:  # a task outranks everything that waits for it
        assert all(priority[(unit, need)] > priority[(unit, stage)] for need in needs)
    # equal chains keep the graph's order: units one after another
    assert priority[("rep00", folds.VIEW)] > priority[("rep01", folds.VIEW)]
