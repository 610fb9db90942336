"""``gansemble verify``: does a rerun agree with the committed results?

Exit status (:func:`verify`): **0** the rerun agrees, **1** it disagrees, **2** nothing to
compare — the checkout's metrics are the committed ones (nothing was rerun), or the folder is
not a git checkout (then ``--committed DIR`` compares with a folder of committed metrics).
A rerun's metrics never equal the committed files byte for byte (they record training
seconds), so a bit-identical rerun is compared number by number and agrees.

How the numbers are compared: :mod:`.verify_numbers`; the statements: :mod:`.verify_statements`.

``dvc metrics diff`` lists the same files' changes without tolerances.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..core.config import GateParams, VerifyParams
from ..core.errors import DataError
from ..core.params_io import load_params
from .verify_numbers import (
    CALIBRATED,
    DEFAULTS,
    NOISE_FILE,
    RESOLUTION,
    UNCALIBRATED,
    Check,
    Noise,
    PendingNumber,
    file_numbers,
    metric_names,
    read_folder,
    z_familywise,
)
from .verify_statements import StatementContext, follow_choices, statements

NOT_GIT = ("not a git checkout: verify compares with the results committed in git; use "
           "--committed DIR to compare with a folder of committed metrics")


# Printed under a disagreement: what a reader on another machine should make of it.
READING_A_DISAGREEMENT = (
    "reading it: on the CPU and numerical path that wrote the committed results (the colophon of "
    "reports/report.html) a rerun is bit-identical. On another, a few numbers outside their "
    "tolerance are the rare events of single training runs (one classifier seed, a set a "
    "filter empties in one run only; docs/verify.md gives what such reruns showed); many "
    "numbers of one kind, or a verdict that changes without being borderline, are not.")


def committed_json(path: str | Path, ref: str = "HEAD", root: str | Path = ".") -> dict | None:
    """A file's JSON as committed at ``ref`` (None when git has no such file)."""
    result = subprocess.run(["git", "show", f"{ref}:{Path(path).as_posix()}"], cwd=root,
                            capture_output=True, text=True)
    return json.loads(result.stdout) if result.returncode == 0 else None


def git_problem(root: str | Path, ref: str = "HEAD") -> str | None:
    """Why ``root`` cannot be compared with git (None: it is the top of a checkout with ``ref``)."""
    root = Path(root)
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root,
                             capture_output=True, text=True)
        has_ref = subprocess.run(["git", "rev-parse", "--verify", "--quiet",
                                  f"{ref}^{{commit}}"], cwd=root, capture_output=True,
                                 text=True)
    except OSError:  # no git program
        return NOT_GIT + " (git is not installed)"
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != root.resolve():
        return NOT_GIT
    if has_ref.returncode != 0:
        return f"{NOT_GIT} (this checkout has no revision {ref})"
    return None


# --------------------------------------------------------------------------- result sets

def _design(metrics_dir: Path) -> tuple[int, float]:
    """(folds x repeats, resolution) of a result set, from its committed files."""
    downstream = json.loads((metrics_dir / "06_downstream.json").read_text(encoding="utf-8"))
    explore = json.loads((metrics_dir / "01_explore.json").read_text(encoding="utf-8"))
    folds = int(downstream.get("folds", 1)) * int(downstream.get("repeats", 1))
    n = explore.get("n_samples") or 1
    return folds, 1.0 / n


@dataclass
class _Pending:
    """A result set compared, with the numbers' tolerances waiting for the family-wise z."""

    files: list[tuple[str, dict, dict, list[Check | PendingNumber]]]
    noise: Noise

    @property
    def m(self) -> int:
        return sum(isinstance(i, PendingNumber) for _, _, _, items in self.files for i in items)

    def checks(self, z: float, settings: VerifyParams = DEFAULTS,
               margins: GateParams | None = None) -> list[Check]:
        out = []
        data = {name: (old, new) for name, old, new, _ in self.files}
        for name, old, new, items in self.files:
            if old is None or new is None:
                out += items
                continue
            done = [i.check(z) if isinstance(i, PendingNumber) else i for i in items]
            tolerance = {c.metric.split(":", 1)[1]: c.tolerance for c in done
                         if c.tolerance is not None}
            context = StatementContext(name, tolerance, self.noise, z, settings,
                                       margins or GateParams())
            out += done + statements(name, old, new, context)
        return follow_choices(out, data)


def _pending(names: list[str], committed, reproduced, *, folds: int, resolution: float,
             noise: Noise) -> _Pending:
    files = []
    for name in names:
        old, new = committed(name), reproduced(name)
        if old is None or new is None:
            files.append((name, old, new, [Check(name, "missing" if old is None else "present",
                                                 "missing" if new is None else "present",
                                                 None, False)]))
            continue
        files.append((name, old, new, file_numbers(name, old, new, folds=folds,
                                               resolution=resolution, noise=noise)))
    return _Pending(files, noise)


def compare_files(name: str, committed: dict, reproduced: dict, *, folds: int,
                  resolution: float, noise: Noise | None = None, z: float | None = None
                  ) -> list[Check]:
    """Every number and statement of one metrics file, committed against reproduced (z: the
    family-wise z; by default that of this file's numbers alone)."""
    pending = _pending([name], lambda _: committed, lambda _: reproduced, folds=folds,
                       resolution=resolution, noise=noise or Noise())
    return pending.checks(z if z is not None else z_familywise(pending.m))


def _git_set(metrics_dir: Path, ref: str, root: Path):
    """(names, committed reader, noise) of a result set tracked by git."""
    if not list(metrics_dir.glob("*.json")):
        raise DataError("no metrics files", path=metrics_dir,
                        fix="run the pipeline first (`make reproduce`)")
    relative = metrics_dir.resolve().relative_to(root.resolve())
    listed = subprocess.run(["git", "ls-tree", "--name-only", f"{ref}:{relative.as_posix()}"],
                            cwd=root, capture_output=True, text=True).stdout.split()
    names = metric_names(listed, (p.name for p in metrics_dir.glob("*.json")))
    noise_file = metrics_dir / NOISE_FILE
    if noise_file.is_file():
        noise = Noise.from_json(json.loads(noise_file.read_text(encoding="utf-8")),
                                noise_file.resolve().relative_to(root.resolve()).as_posix())
    else:
        noise = Noise.from_json(committed_json(relative / NOISE_FILE, ref, root),
                                f"{(relative / NOISE_FILE).as_posix()} at {ref}")
    return names, (lambda name: committed_json(relative / name, ref, root)), noise


def unchanged(metrics_dir: str | Path, *, ref: str = "HEAD", root: str | Path = ".",
              committed_dir: str | Path | None = None) -> bool:
    """Whether every metrics file of the set equals (as JSON) its committed version: nothing
    was rerun, and comparing would compare the committed results with themselves."""
    metrics_dir, root = Path(metrics_dir), Path(root)
    if committed_dir is not None:
        names = metric_names((p.name for p in Path(committed_dir).glob("*.json")),
                              (p.name for p in metrics_dir.glob("*.json")))
        committed = read_folder(Path(committed_dir))
    else:
        names, committed, _ = _git_set(metrics_dir, ref, root)
    mine = read_folder(metrics_dir)
    return all(committed(name) == mine(name) for name in names)


def _metrics_pending(metrics_dir: Path, *, ref: str, root: Path) -> _Pending:
    names, committed, noise = _git_set(metrics_dir, ref, root)
    folds, resolution = _design(metrics_dir)
    return _pending(names, committed, read_folder(metrics_dir), folds=folds, resolution=resolution,
                    noise=noise)


def _against_pending(metrics_dir: Path, committed_dir: Path) -> _Pending:
    names = metric_names((p.name for p in committed_dir.glob("*.json")),
                          (p.name for p in metrics_dir.glob("*.json")))
    noise_file = next((f / NOISE_FILE for f in (committed_dir, metrics_dir)
                       if (f / NOISE_FILE).is_file()), None)
    noise = Noise.from_json(json.loads(noise_file.read_text(encoding="utf-8")),
                            str(noise_file)) if noise_file else Noise()
    folds, resolution = _design(committed_dir)
    return _pending(names, read_folder(committed_dir), read_folder(metrics_dir), folds=folds,
                    resolution=resolution, noise=noise)


def verify_metrics(metrics_dir: str | Path, *, ref: str = "HEAD", root: str | Path = ".",
                   z: float | None = None) -> list[Check]:
    """All checks of one result set (a folder of metrics JSON tracked by git)."""
    pending = _metrics_pending(Path(metrics_dir), ref=ref, root=Path(root))
    return pending.checks(z if z is not None else z_familywise(pending.m))


def verify_against(metrics_dir: str | Path, committed_dir: str | Path, *,
                   z: float | None = None) -> list[Check]:
    """Like :func:`verify_metrics`, against copies of the committed files in a folder (and
    its ``rerun_noise.json``, else the metrics folder's)."""
    pending = _against_pending(Path(metrics_dir), Path(committed_dir))
    return pending.checks(z if z is not None else z_familywise(pending.m))


# --------------------------------------------------------------------------- the command

def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def summary(checks: list[Check]) -> str:
    numbers = [c for c in checks if not c.statement]
    said = [c for c in checks if c.statement]
    near = [c for c in said if c.borderline]
    follow = sum(c.borderline and not c.agrees for c in numbers)
    return (f"{sum(c.agrees for c in numbers)} of {len(numbers)} numbers agree"
            + (f" ({follow} more follow a borderline choice)" if follow else "") + "; "
            f"{sum(c.agrees for c in said)} of {len(said)} statements hold, {len(near)} "
            f"borderline ({sum(not c.agrees for c in near)} of them changed)")


def print_table(title: str, checks: list[Check], *, only_disagreeing: bool = False,
                out=sys.stdout) -> None:
    shown = [c for c in checks if c.disagrees] if only_disagreeing else checks
    print(f"\n## {title}: {summary(checks)}", file=out)
    if shown:
        print("| metric | committed | reproduced | tolerance | agrees |", file=out)
        print("| --- | ---: | ---: | ---: | --- |", file=out)
        for c in shown:
            tol = "equal" if c.tolerance is None else f"±{c.tolerance:.3g}"
            if c.tolerance is not None and c.basis == UNCALIBRATED:
                tol += " (uncalibrated)"
            agrees = "yes" if c.agrees else "borderline" if c.borderline else "NO"
            print(f"| {c.metric} | {_cell(c.committed)} | {_cell(c.reproduced)} | {tol} | "
                  f"{agrees} |", file=out)
    near = [c for c in checks if c.borderline]
    if near:
        print("\nborderline (statements within the band of their threshold in either run, and "
              "numbers that follow a borderline choice; a change is not counted as a "
              "disagreement):", file=out)
        for c in near:
            what = (f"held ({_cell(c.committed)})" if c.agrees else
                    f"CHANGED: {_cell(c.committed)} -> {_cell(c.reproduced)}")
            print(f"- {c.metric.removeprefix('statement: ')}: {what}; {c.basis}", file=out)
    said = [c for c in checks if c.statement]
    print(f"statements (verdicts, chosen strategies, gates, emptied filters): "
          f"{sum(c.agrees for c in said)} of {len(said)} still hold", file=out)


def params_changed(ref: str, root: Path) -> list[str]:
    """``dvc params diff`` against ``ref``: the keys whose value differs."""
    result = subprocess.run([sys.executable, "-m", "dvc", "params", "diff", ref, "--json"],
                            cwd=root, capture_output=True, text=True)
    if result.returncode != 0:
        return [f"(dvc params diff failed: {result.stderr.strip()[:200]})"]
    diff = json.loads(result.stdout or "{}")
    return [f"{key} ({change.get('old')} -> {change.get('new')})"
            for changes in diff.values() for key, change in changes.items()]


def _reproduced_dataset(folder: Path, ref: str, root: Path) -> bool:
    """Whether a dataset result set in the working tree is a rerun (its run record changed)."""
    relative = (folder / "run.json").resolve().relative_to(root.resolve())
    committed = committed_json(relative, ref, root)
    current = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    return committed != current


def _dataset_available(folder: Path, root: Path) -> tuple[bool, str]:
    run = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    missing = [s["path"] for s in run.get("sources", []) if not (root / s["path"]).exists()]
    return (not missing, f"its data are not here ({missing[0]})" if missing else "")


def _basis(noises: list[Noise], checks: list[Check]) -> str:
    numbers = [c for c in checks if c.sigma is not None]
    calibrated = sum(c.basis == CALIBRATED for c in numbers)
    uncalibrated = sum(c.basis == UNCALIBRATED for c in numbers)
    floor = sum(c.basis == RESOLUTION for c in numbers)
    sources = sorted({n.source for n in noises if n})
    parts = []
    if calibrated:
        parts.append(f"{calibrated} calibrated from {', '.join(sources)}")
    if uncalibrated:
        parts.append(f"{uncalibrated} UNCALIBRATED (no {NOISE_FILE} entry: the spread between "
                     "folds, sd/sqrt(K), stands in for rerun noise)")
    if floor:
        parts.append(f"{floor} at the floor of one held-out sample")
    return "; ".join(parts) or "no numbers with a tolerance"


def gate_margins(metrics_dir: str | Path) -> GateParams:
    """The gate section of the run behind ``metrics_dir``: the params.yaml beside a result
    set's metrics, or the project's for ``reports/metrics`` (defaults when it has none)."""
    metrics_dir = Path(metrics_dir)
    for path in (metrics_dir.parent / "params.yaml", metrics_dir.parent.parent / "params.yaml"):
        if path.is_file():
            return load_params(path, "gate")
    return GateParams()


def verify_settings(root: str | Path = ".") -> VerifyParams:
    """The `verify` section of ``root``'s params.yaml; its defaults when the file has none."""
    path = Path(root) / "params.yaml"
    return load_params(path, "verify") if path.is_file() else DEFAULTS


def verify(*, ref: str = "HEAD", root: str | Path = ".", committed_dir: str | Path | None = None,
           show_all: bool = False, out=sys.stdout) -> int:
    """Check the default result set and every rerun dataset result set.

    Returns the exit status: 0 all agree, 1 something disagrees, 2 nothing to compare (nothing
    was rerun, or not a git checkout).
    """
    from ..data.import_data import dvc_data_clean

    root = Path(root)
    problem = git_problem(root, ref) if committed_dir is None else None
    if problem:
        print(problem, file=out)
        return 2
    default = root / "reports" / "metrics"
    sets: list[tuple[str, Path]] = []
    if unchanged(default, ref=ref, root=root, committed_dir=committed_dir):
        where = f"in {committed_dir}" if committed_dir is not None else "committed"
        print(f"nothing was rerun: the metrics in reports/metrics are the {where} ones (run "
              "`make reproduce` first)", file=out)
    else:
        sets.append(("default dataset (reports/metrics)", default))
    datasets = root / "reports" / "datasets"
    for folder in sorted(p for p in datasets.iterdir() if (p / "run.json").is_file()) \
            if datasets.is_dir() and committed_dir is None else []:
        available, why = _dataset_available(folder, root)
        if not _reproduced_dataset(folder, ref, root):
            print(f"\n## dataset {folder.name}: skipped, not rerun in this checkout"
                  + (f" and {why}" if not available else
                     f" (`make reproduce-{folder.name}`, then `make verify`)"), file=out)
            continue
        sets.append((f"dataset {folder.name}", folder / "metrics"))
    if not sets:
        print("\nverify: nothing to compare (exit 2)", file=out)
        return 2
    ok = True
    if committed_dir is None:
        clean = dvc_data_clean(root / "data.dvc")
        print(f"raw data: {'equal to' if clean else 'DIFFERENT from'} the hash data.dvc "
              "records (exact)", file=out)
        changed = params_changed(ref, root)
        print("parameters: " + ("the committed ones (dvc params diff: none)" if not changed
                                else "CHANGED since the committed run (not a reproduction): "
                                + ", ".join(changed)), file=out)
        ok &= clean and not changed
    pending = [(title, _against_pending(d, Path(committed_dir)) if committed_dir is not None
                else _metrics_pending(d, ref=ref, root=root), gate_margins(d))
               for title, d in sets]
    m = sum(p.m for _, p, _ in pending)
    settings = verify_settings(root)
    z = z_familywise(m, settings.alpha)
    everything: list[Check] = []
    for title, p, margins in pending:
        checks = p.checks(z, settings, margins)
        everything += checks
        print_table(title, checks, only_disagreeing=not show_all, out=out)
        ok &= not any(c.disagrees for c in checks)
    print(f"\nverify: {'AGREES' if ok else 'DISAGREES'} with the committed results: "
          f"{summary(everything)}", file=out)
    print(f"tolerance: z = {z:.2f} (family-wise, alpha = {settings.alpha:g} over {m} numbers) "
          "x the sd "
          f"a rerun's difference can have, at least one held-out sample; basis: "
          f"{_basis([p.noise for _, p, _ in pending], everything)}", file=out)
    if not ok:
        print(READING_A_DISAGREEMENT, file=out)
    return 0 if ok else 1

