"""Outer cross-validation: every learning and selecting stage runs inside each fold.

``prepare`` writes, beside the working images, ``folds.csv``: for every sample its part
(train / val / test / unused) in each outer fold. The ``folds`` stage then runs the stages
marked ``per_fold`` in :mod:`.pipeline` (chooser, generators, VAEs, filters, fidelity,
downstream classifiers) once per fold, in ``folds/<fold>/`` with the project's own layout:

- ``folds/<fold>/data/prepared`` is the fold's *view* of the prepared data: the same images and
  spectra, with the manifest's split column set to that fold's parts. Every stage reads its
  training and inner-validation data through :meth:`.dataset.PreparedData.subset`, so nothing
  that learns or selects can see the fold's test part, which only the final scoring reads
  (:meth:`.dataset.PreparedData.test_for_evaluation`).
- The (fold, stage) tasks run as soon as what they read is done, ``evaluation.workers`` at a
  time, in long-lived worker processes with one CPU thread each (two single-thread processes
  beat one two-thread process on these small networks, and a fold's numbers then do not
  depend on how many tasks run at once).

``gansemble fold FOLD`` runs one fold by hand (``--only STAGE`` one stage of it);
``gansemble folds`` is what ``dvc repro`` calls.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from .constants import (
    FOLDS_FILE,
    IMAGES_FILE,
    LABEL,
    MANIFEST_FILE,
    PREPARED_INFO_FILE,
    SAMPLE_ID,
    SPECTRA_FILE,
    SPLIT,
)
from .errors import DataError
from .io_utils import atomic_dir, write_json, write_text
from .progress import CONSOLE_ENV
from .splits import split_counts

PREPARED = "data/prepared"
THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def read_fold_table(prepared_dir: str | Path = PREPARED) -> pd.DataFrame:
    path = Path(prepared_dir) / FOLDS_FILE
    if not path.is_file():
        raise DataError(f"{FOLDS_FILE} is missing", path=prepared_dir,
                        fix="re-run the prepare stage (`dvc repro prepare`)")
    return pd.read_csv(path)


def fold_names(prepared_dir: str | Path = PREPARED) -> list[str]:
    return [c for c in read_fold_table(prepared_dir).columns if c != SAMPLE_ID]


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def write_fold_view(fold: str, prepared_dir: str | Path = PREPARED,
                    out_dir: str | Path | None = None) -> Path:
    """Write ``folds/<fold>/data/prepared``: the prepared data with this fold's parts."""
    from .pipeline import fold_dir

    prepared_dir = Path(prepared_dir)
    table = read_fold_table(prepared_dir)
    if fold not in table.columns:
        raise DataError(f"no fold {fold!r} in {FOLDS_FILE}", path=prepared_dir / FOLDS_FILE,
                        fix=f"use one of: {', '.join(fold_names(prepared_dir))}")
    out_dir = Path(out_dir or f"{fold_dir(fold)}/{PREPARED}")
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
    from .dataset import read_prepared_info
    from .pipeline import fold_stages, split_stage_name
    from .runner import run_notebook

    modality = read_prepared_info(PREPARED)["modality"]
    stages = fold_stages(modality, params_file)
    unknown = sorted(set(only or []) - set(stages))
    if unknown:
        raise DataError(f"not a per-fold stage: {', '.join(unknown)}",
                        fix=f"use one of: {', '.join(stages)}")
    write_fold_view(fold)
    first = fold_names()[0]
    return [run_notebook(name, params_file=params_file, fold=fold)
            for name in stages if (not only or name in only)
            and (fold == first or not split_stage_name(name)[0].first_fold_only)]


# Kernel log lines that say nothing to a reader (a kernel logs the interrupt that its shutdown
# sends; harmless, and the stage's own result line follows).
KERNEL_NOISE = ("[IPKernelApp]",)


def schedule(folds: list[str], stages: list[str]) -> list[tuple[str, str, list[str]]]:
    """Every (fold, stage) task with the tasks of the same fold it waits for, folds first:
    a free worker takes the earliest ready task, so folds finish one after another while
    independent stages (the generators, the VAEs; fidelity beside downstream) fill both cores.
    """
    from .pipeline import fold_stage_needs, split_stage_name

    return [(fold, name, fold_stage_needs(name, stages)) for fold in folds for name in stages
            if fold == folds[0] or not split_stage_name(name)[0].first_fold_only]


DONE_MARK = "fold-task-done:"


def serve_tasks(stream=sys.stdin, *, params_file: str = "params.yaml") -> None:
    """A worker of :func:`run_folds`: runs ``FOLD STAGE`` lines from ``stream`` one by one.

    One long-lived process per worker pays the interpreter and library start-up once, not
    once per task; each task still runs its notebook in a fresh kernel. After each task it
    prints ``DONE_MARK <exit status>``.
    """
    from .runner import run_notebook

    for line in stream:
        if not line.strip():
            continue
        fold, name = line.split()
        status = 0
        try:
            run_notebook(name, params_file=params_file, fold=fold)
        except DataError as error:
            print(f"error: {error}", flush=True)
            status = 2
        except Exception as error:  # noqa: BLE001 (reported, and the scheduler stops)
            print(f"error: {type(error).__name__}: {error}", flush=True)
            status = 1
        print(f"{DONE_MARK} {status}", flush=True)


class _Worker:
    """One worker process and the task it runs (its output lines are prefixed by fold)."""

    def __init__(self, env: dict[str, str], params_file: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gansemble_lib", "fold-worker", "--params", params_file],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env=env, bufsize=1)
        self.task: tuple[str, str] | None = None
        self.finished: list[tuple[tuple[str, str], int]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._pump, daemon=True).start()

    def start(self, fold: str, name: str) -> None:
        self.task = (fold, name)
        self.proc.stdin.write(f"{fold} {name}\n")
        self.proc.stdin.flush()

    def _pump(self) -> None:
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            if line.startswith(DONE_MARK):
                with self._lock:
                    self.finished.append((self.task, int(line.split()[1])))
                    self.task = None
                continue
            if line.startswith(KERNEL_NOISE):
                continue
            prefix = self.task[0] if self.task else "worker"
            print(line if line.startswith(f"[{prefix}]") else f"[{prefix}] {line}", flush=True)

    def collect(self) -> list[tuple[tuple[str, str], int]]:
        with self._lock:
            done, self.finished = self.finished, []
        if not done and self.task and self.proc.poll() is not None:
            done, self.task = [(self.task, self.proc.returncode or 1)], None  # it died
        return done

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait()


SETTINGS_FILE = "settings.sha256"  # in folds/: what the files there were computed from


def settings_fingerprint(modality: str, params_file: str | Path = "params.yaml",
                         prepared_dir: str | Path = PREPARED) -> str:
    """A hash of what every per-fold result depends on besides the code: the prepared data
    (every file, with the outer folds) and the values of the parameters the per-fold stages
    read."""
    import hashlib

    import yaml

    from .pipeline import folds_params

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
    from .pipeline import FOLDS_DIR

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


def run_folds(*, workers: int | None = None, params_file: str = "params.yaml") -> None:
    """All folds' stages, ``workers`` at a time, each worker a process with one thread."""
    from .config import load_params
    from .dataset import read_prepared_info
    from .pipeline import fold_stages

    names = fold_names()
    stages = fold_stages(read_prepared_info(PREPARED)["modality"], params_file)
    workers = max(1, workers or load_params(params_file, "evaluation").workers)
    env = dict(os.environ, **dict.fromkeys(THREAD_ENV, "1"))
    env[CONSOLE_ENV] = ""  # bars of parallel tasks would overwrite each other: summaries only
    print(f"folds: {len(names)} outer fold(s) ({', '.join(names)}) x {len(stages)} stages, "
          f"{workers} at a time, one thread each", flush=True)
    started = time.perf_counter()
    modality = read_prepared_info(PREPARED)["modality"]
    if start_clean_if_settings_changed(settings_fingerprint(modality, params_file)):
        print("folds: the data or parameters changed since the files in folds/ were written: "
              "started from an empty folds/ (nothing of the earlier settings is kept)",
              flush=True)
    for fold in names:
        write_fold_view(fold)
    pending = schedule(names, stages)
    done: set[tuple[str, str]] = set()
    failed: list[str] = []
    pool = [_Worker(env, params_file) for _ in range(min(workers, len(pending)))]
    try:
        while True:
            for worker in pool:
                for task, status in worker.collect():
                    if status:
                        failed.append(f"{task[1]} in {task[0]}")
                    else:
                        done.add(task)
            busy = any(w.task or w.finished for w in pool)
            if not busy and (failed or not pending):
                break
            for worker in pool:
                if worker.task or worker.finished or failed:
                    continue
                ready = [t for t in pending if all((t[0], n) in done for n in t[2])]
                if not ready:
                    break
                pending.remove(ready[0])
                worker.start(ready[0][0], ready[0][1])
            time.sleep(0.1)
    finally:
        for worker in pool:
            worker.close()
    if failed:
        raise DataError(f"{', '.join(failed)} failed (the message is above)",
                        fix="fix the cause, then `dvc repro` again: finished generators are "
                            "re-used")
    print(f"folds: {len(names)} fold(s) done in {time.perf_counter() - started:.0f} s",
          flush=True)
