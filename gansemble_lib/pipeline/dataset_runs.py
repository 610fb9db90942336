"""Run the whole pipeline on another dataset and keep its results beside the default ones.

``gansemble run-dataset NAME SOURCE... [--format F] [--profile P]`` (``make reproduce-rampp`` is
one such call; without a SOURCE it runs the embedded default data, e.g. at another profile,
as ``make reproduce-decisive`` does):

1. clones the current commit into ``runs/NAME`` (git- and DVC-ignored), or moves an existing
   clone there to the current commit, so a second run only reruns what changed (DVC's run cache
   also restores stages whose inputs it has seen before);
2. with ``--standard-fid``, gives the clone this checkout's standard FID Inception-v3 (fetched
   by ``make inception``; a hard link or copy, SHA-1 checked), so its stages 05/05b report FID
   in the literature's units too (opt-in: it costs ~15 min of one core in every unit that runs
   stage 05, every outer fold of real data);
3. writes a named parameter profile there if one is asked for, then imports the sources with
   ``import-data`` (same validation and messages; a class is checked against the profile's
   evaluation.folds, the design its prepare stage will use), or, without sources, materialises
   the embedded default data with ``fetch-data`` (offline, verified against ``data.dvc``);
4. runs ``dvc repro`` there, streaming its output and timing each stage;
5. copies the results into ``reports/datasets/NAME/`` of this checkout, all at once: metrics,
   tables, the HTML report, the downstream figures, the clone's ``dvc.lock``, ``params.yaml``
   and ``dataset.yaml``, and ``run.json`` (commit, sources with sha256, the clone's ``data.dvc``
   entry, profile, wall time per stage, machine, package versions).

The default dataset keeps ``reports/`` and ``dvc.lock`` at the top level; every other dataset's
results are a git-tracked folder, so ``gansemble update-readme`` shows them all and a fresh
clone can check the README against them. Results are tied to a commit, so the command refuses
to run with uncommitted changes to tracked files.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import yaml

from ..core.errors import DataError
from ..core.io_utils import atomic_dir, sha256_file
from ..evaluation import inception
from ..reporting.colophon import package_versions
from .repro import console_env, readable

RUNS_DIR = "runs"
RESULTS_DIR = Path("reports") / "datasets"
RUN_RECORD = "run.json"
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
# What a result set keeps: (path in the clone, path in the result folder); folders copied whole.
KEPT = (("reports/metrics", "metrics"), ("reports/tables", "tables"),
        ("reports/report.html", "report.html"), ("reports/figures/06_forest.png",
                                                  "figures/06_forest.png"),
        ("reports/figures/06_recall.png", "figures/06_recall.png"),
        ("dvc.lock", "dvc.lock"), ("params.yaml", "params.yaml"),
        ("data/raw/dataset.yaml", "dataset.yaml"))
# Kept when the run wrote them (spectra only: the oracle's learning curve, which RESULTS.md shows).
KEPT_IF_PRESENT = (("reports/figures/06_learning_curve.png", "figures/06_learning_curve.png"),)
# data.dvc is recorded inside run.json: a copied *.dvc file would be tracked by this checkout's DVC.
_STAGE_START = re.compile(r"Running stage '([^']+)'")
_STAGE_SKIP = re.compile(r"Stage '([^']+)' didn't change, skipping")
_STAGE_CACHED = re.compile(r"Stage '([^']+)' is cached")


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name) or name == "default":
        raise DataError(f"dataset name {name!r} is not usable as a folder name",
                        fix="use 1-40 lower-case letters, digits, '-' or '_' (not 'default'), "
                            "e.g. rampp")
    return name


def describe_sources(sources: list[str]) -> list[dict]:
    """Each source file (folders: every file inside) with its size and sha256."""
    described = []
    for source in sources:
        path = Path(source)
        if not path.exists():
            raise DataError("no such file or folder", path=path, fix="check the path")
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            described.append({"path": str(file), "bytes": file.stat().st_size,
                              "sha256": sha256_file(file)})
    return described


def _git(repo: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True)
    if result.returncode != 0:
        raise DataError(f"git {' '.join(args)} failed: {result.stderr.strip()}", path=repo,
                        fix="run the command inside a git clone of the compendium")
    return result.stdout.strip()


def current_commit(repo: Path) -> str:
    """HEAD of ``repo``; refuses when tracked files have uncommitted changes."""
    commit = _git(repo, "rev-parse", "HEAD")
    dirty = _git(repo, "diff", "--name-only", "HEAD")
    if dirty:
        changed = ", ".join(dirty.splitlines()[:5])
        raise DataError(f"uncommitted changes to tracked files ({changed})", path=repo,
                        fix="commit or stash them first: results are recorded against a commit")
    return commit


def checkout_clone(repo: Path, dest: Path, commit: str) -> None:
    """``dest`` as a clone of ``repo`` at ``commit``; pipeline outputs already there are kept,
    and so is the clone's own ``dvc.lock``: it records this dataset's last run, so DVC reruns
    only the stages whose code, data or parameters changed since (the committed ``dvc.lock``
    is the default dataset's, against which every stage of another dataset looks changed)."""
    if dest.exists() and not (dest / ".git").exists():
        raise DataError("exists but is not a git clone", path=dest,
                        fix="remove it; the command makes the clone itself")
    lock = dest / "dvc.lock"
    own_lock = lock.read_bytes() if lock.is_file() else None
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        _git(repo, "clone", "--quiet", "--no-checkout", str(repo), str(dest))
    else:
        _git(dest, "fetch", "--quiet", str(repo), commit)
    # --force: the clone's other tracked results (metrics, tables) are replaced; DVC rewrites
    # those of every stage it reruns
    _git(dest, "checkout", "--quiet", "--force", "--detach", commit)
    if own_lock is not None:
        lock.write_bytes(own_lock)


def share_inception(repo: Path, clone: Path, echo=print, *, wanted: bool = True
                    ) -> dict | None:
    """With ``wanted``, give ``clone`` the standard FID Inception-v3 that ``repo`` fetched
    (``make inception``), so both score with the same network; without, make sure the clone
    has none. None when the clone scores with the domain extractor only. A file with another
    SHA-1, or none to share when one is wanted, stops the run with the fix; a stale copy in
    the clone is replaced."""
    source, target = repo / inception.DEFAULT_PATH, clone / inception.DEFAULT_PATH
    if not wanted:
        target.unlink(missing_ok=True)  # a clone reused from a run that had it
        return None
    if not source.is_file():
        raise DataError("no standard Inception-v3 to score with", path=source,
                        fix="run `make inception` first, or leave out --standard-fid")
    found = inception.sha1_file(source)
    if found != inception.SHA1:
        raise DataError(f"SHA-1 {found}, not the expected {inception.SHA1}", path=source,
                        fix="delete it and run `make inception` again")
    if not (target.is_file() and inception.sha1_file(target) == found):
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{target.name}.part")
        part.unlink(missing_ok=True)
        try:
            os.link(source, part)
        except OSError:  # another file system, or links not allowed
            shutil.copyfile(source, part)
        part.replace(target)
    echo(f"[{clone.name}] standard Inception-v3 (SHA-1 {found[:12]}) shared with the clone")
    return {"path": inception.DEFAULT_PATH.as_posix(), "sha1": found}


@dataclass
class StageClock:
    """Seconds per stage, from dvc repro's ``Running stage`` lines as they stream past."""

    seconds: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    _current: str | None = None
    _since: float = 0.0

    def line(self, text: str, now: float) -> None:
        started, skipped = _STAGE_START.search(text), _STAGE_SKIP.search(text)
        cached = _STAGE_CACHED.search(text)
        if started or skipped or cached or "Updating lock file" in text:
            self.stop(now)
        if started:
            self._current, self._since = started.group(1), now
        if skipped:
            self.skipped.append(skipped.group(1))
        if cached:  # DVC's run cache: outputs of an identical earlier run, not a new run
            self.restored.append(cached.group(1))

    def stop(self, now: float) -> None:
        if self._current is not None:
            self.seconds[self._current] = round(now - self._since, 1)
            self._current = None


def _environment(clone: Path) -> dict[str, str]:
    """The clone's code first on the path; this environment's tools (dvc, papermill) on PATH."""
    env = console_env()  # progress bars of the clone's stages draw on this terminal
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(clone), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(cmd: list[str], cwd: Path, env: dict[str, str], clock: StageClock | None = None,
         echo=print) -> None:
    """Run ``cmd``, echoing its output line by line; a failure names the command and the log."""
    tail: deque[str] = deque(maxlen=20)
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        for text in proc.stdout:
            shown = readable(text)  # DVC's per-stage bookkeeping is left out of the echo
            if shown is not None:
                echo(shown)
            tail.append(text.rstrip("\n"))
            if clock is not None:
                clock.line(text, time.perf_counter())
    if clock is not None:
        clock.stop(time.perf_counter())
    if proc.returncode != 0:
        raise DataError(f"`{' '.join(cmd)}` failed with exit code {proc.returncode}; last "
                        "lines:\n  " + "\n  ".join(tail), path=cwd,
                        fix="read the error above; the clone keeps everything for a rerun")


def _declared_outputs(clone: Path) -> set[str]:
    """Files the clone's dvc.yaml declares (a reused clone may hold older versions' files)."""
    import yaml

    stages = yaml.safe_load((clone / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    outs = set()
    for entry in stages.values():
        entry = entry.get("do", entry)
        for out in entry.get("outs", []) + entry.get("metrics", []) + entry.get("plots", []):
            outs.add(out if isinstance(out, str) else next(iter(out)))
    return outs


def collect(clone: Path, out: Path, record: dict) -> Path:
    """Copy the kept results from ``clone`` into ``out`` in one step (all or nothing)."""
    missing = [src for src, _ in KEPT if not (clone / src).exists()]
    if missing:
        raise DataError(f"the run left no {', '.join(missing)}", path=clone,
                        fix="run `dvc repro` there and read its errors")
    current = _declared_outputs(clone)
    with atomic_dir(out) as tmp:
        present = [(src, dst) for src, dst in KEPT_IF_PRESENT if (clone / src).exists()]
        for src, dst in (*KEPT, *present):
            target = tmp / dst
            target.parent.mkdir(parents=True, exist_ok=True)
            if (clone / src).is_dir():  # only what this pipeline version writes there
                shutil.copytree(clone / src, target, ignore=lambda d, names: [
                    n for n in names if (Path(d) / n).is_file()
                    and Path(d, n).relative_to(clone).as_posix() not in current])
            else:
                shutil.copy2(clone / src, target)
        (tmp / RUN_RECORD).write_text(json.dumps(record, indent=2) + "\n",
                                      encoding="utf-8")
    return out


def earlier_seconds(previous: Path, clock: StageClock) -> dict[str, dict]:
    """What the stages this run reused (unchanged, or restored from DVC's run cache) cost when
    they last ran, from the result set's previous ``run.json`` (and, through it, from the runs
    before): {stage: {"seconds", "commit"}}. A stage reused from a run this checkout has no
    record of is left out."""
    if not previous.is_file():
        return {}
    old = json.loads(previous.read_text(encoding="utf-8"))
    carried = {}
    for stage in [*clock.skipped, *clock.restored]:
        if stage in old.get("stage_seconds", {}):
            carried[stage] = {"seconds": old["stage_seconds"][stage], "commit": old["commit"]}
        elif stage in old.get("earlier_stage_seconds", {}):
            carried[stage] = old["earlier_stage_seconds"][stage]
    return carried


def run_dataset(name: str, sources: list[str], *, fmt: str = "auto", profile: str | None = None,
                repo: str | Path = ".", import_options: tuple[str, ...] = (),
                standard_fid: bool = False, echo=print) -> Path:
    """The whole pipeline on ``sources`` in ``runs/NAME``; results in ``reports/datasets/NAME``."""
    check_name(name)
    repo = Path(repo).resolve()
    described = describe_sources(sources)  # a wrong path fails before anything is cloned
    if import_options and not sources:
        raise DataError(f"{' '.join(import_options)} need(s) a file to import",
                        fix="name the file(s) to import, or leave the option out to run the "
                            "embedded default data")
    commit = current_commit(repo)
    clone = repo / RUNS_DIR / name
    echo(f"[{name}] clone of {commit[:12]} in {clone}")
    checkout_clone(repo, clone, commit)
    standard = share_inception(repo, clone, echo=echo, wanted=standard_fid)
    env = _environment(clone)
    python = [sys.executable, "-m", "gansemble_lib"]
    if profile:  # first: import-data checks the classes against its evaluation.folds
        _run([*python, "profile", profile], clone, env, echo=echo)
    if sources:
        _run([*python, "import-data", *[str(Path(s).resolve()) for s in sources], "--format",
              fmt, *import_options], clone, env, echo=echo)
    else:  # the embedded default data: the clone's data.dvc is the committed one
        _run([*python, "fetch-data"], clone, env, echo=echo)
    clock = StageClock()
    started = datetime.now(UTC)
    tick = time.perf_counter()
    _run([sys.executable, "-m", "dvc", "repro"], clone, env, clock=clock, echo=echo)
    wall = round(time.perf_counter() - tick, 1)
    record = {
        "name": name, "commit": commit, "sources": described, "format": fmt,
        "import_options": list(import_options), "profile": profile or "params.yaml as committed",
        "started_utc": started.isoformat(timespec="seconds"), "dvc_repro_seconds": wall,
        "stage_seconds": clock.seconds, "standard_inception": standard,
        "stages_unchanged": clock.skipped,
        "stages_restored_from_run_cache": clock.restored,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "python": platform.python_version()},
        "packages": package_versions(),
        "command": "gansemble run-dataset " + " ".join(
            [name, *(f'"{s}"' for s in sources), *(["--format", fmt] if sources else []),
             *(["--profile", profile] if profile else []), *import_options,
             *(["--standard-fid"] if standard_fid else [])]),
    }
    record["data_dvc"] = yaml.safe_load((clone / "data.dvc").read_text(encoding="utf-8"))
    record["earlier_stage_seconds"] = earlier_seconds(repo / RESULTS_DIR / name / RUN_RECORD,
                                                      clock)
    out = collect(clone, repo / RESULTS_DIR / name, record)
    echo(f"[{name}] dvc repro took {wall:.0f} s; results in {out.relative_to(repo)}")
    return out
