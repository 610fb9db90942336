"""``gansemble verify``: does a rerun agree with the committed results?

Training on another CPU or BLAS build changes floating-point results, so a rerun cannot be
expected to repeat the committed numbers digit for digit. It can be expected to agree with
them within the spread the results themselves report. For every committed metrics file (the
version in git, ``HEAD`` by default) and the reproduced one in the working tree, every number
is compared with a tolerance taken from that spread:

- a mean across folds with its standard deviation ``sd`` over ``K`` folds (``x_mean`` beside
  ``x_sd``) may move by ``Z`` standard errors, ``Z * sd / sqrt(K)``, the spread of a mean of K
  folds; the sd itself by the same amount;
- never less than the metric's **resolution**: one held-out sample predicted differently
  (``1 / n`` for the ``n`` samples the folds score), since a score of 1.000 in every fold has
  sd 0 yet can move by one prediction;
- counts and the raw data's hash must be equal (``data.dvc`` is checked by DVC itself).

Then the statements the results make are compared as statements: each row's verdict, each
fold's chosen strategy, and which filters kept nothing. The exit status is non-zero when any
number falls outside its tolerance or any statement changed. ``dvc metrics diff`` lists the
same files' changes without tolerances.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .errors import DataError

Z = 3.0  # standard errors a rerun's mean may move (about 0.3 % of draws exceed it by chance)
EXACT_KEYS = ("n_samples", "n_classes", "folds", "repeats", "n_generated", "counts",
              "class_counts", "candidates", "folds_scored")
# Keys not compared as numbers: what describes the run rather than measures it (timings, text),
# and what is derived from the compared numbers and judged as a statement instead (a verdict
# and the posterior probabilities and p-values behind it; the chooser's pick).
IGNORED_KEYS = ("seconds", "conclusion", "notice", "weights_sha256", "budget", "note",
                "fold_names", "train_seconds", "t", "p_better", "p_equivalent", "p_worse",
                "p_value", "p_holm", "verdict", "strategy", "n", "tied_candidates",
                "emptied_by_filter", "worth_real_per_class")
FOLD_LEAF = re.compile(r"^(r\d+f\d+|r?\d*split)$")


@dataclass(frozen=True)
class Check:
    metric: str
    committed: object
    reproduced: object
    tolerance: float | None  # None: must be equal
    agrees: bool


def committed_json(path: str | Path, ref: str = "HEAD", root: str | Path = ".") -> dict | None:
    """A file's JSON as committed at ``ref`` (None when git has no such file)."""
    result = subprocess.run(["git", "show", f"{ref}:{Path(path).as_posix()}"], cwd=root,
                            capture_output=True, text=True)
    return json.loads(result.stdout) if result.returncode == 0 else None


def _flatten(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}/{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _ignored(key: str) -> bool:
    leaf = key.rsplit("/", 1)[-1]
    return key.split("/")[0] in IGNORED_KEYS or "seconds" in leaf or any(
        leaf == k or leaf.endswith(f"_{k}") for k in IGNORED_KEYS)


def _exact(key: str) -> bool:
    return any(part in EXACT_KEYS for part in key.split("/"))


def _spread_key(key: str, flat: dict[str, object]) -> str | None:
    """The sd that goes with a value: ``x_mean`` or ``x`` -> ``x_sd``; an sd goes with itself."""
    if key.endswith("_sd"):
        return key
    for candidate in (key.removesuffix("_mean") + "_sd", key + "_sd"):
        if candidate in flat:
            return candidate
    return None


def tolerance(key: str, flat: dict[str, object], *, folds: int, resolution: float) -> float:
    spread = _spread_key(key, flat)
    sd = flat.get(spread) if spread else None
    from_spread = Z * float(sd) / math.sqrt(max(folds, 1)) if isinstance(sd, int | float) else 0
    return max(from_spread, resolution)


def _per_fold_spread(flat: dict[str, object]) -> dict[str, float]:
    """For values recorded per fold (``.../<fold>``): the sd across the folds of their group.

    A single fold's value (a filter's kept count in fold r0f2, say) has no sd of its own; how
    much it differs between folds is the spread a rerun of that fold can be held to.
    """
    import statistics

    groups: dict[str, list[float]] = {}
    for key, value in flat.items():
        head, _, leaf = key.rpartition("/")
        if FOLD_LEAF.match(leaf) and isinstance(value, int | float):
            groups.setdefault(head, []).append(float(value))
    return {head: statistics.stdev(v) if len(v) > 1 else 0.0 for head, v in groups.items()}


def compare_files(name: str, committed: dict, reproduced: dict, *, folds: int,
                  resolution: float) -> list[Check]:
    """Every number of one metrics file, committed against reproduced."""
    old, new = _flatten(committed), _flatten(reproduced)
    per_fold = _per_fold_spread(old)
    checks = []
    for key in sorted(set(old) | set(new)):
        if _ignored(key):
            continue
        if key not in old:
            continue  # a number the committed run did not record (newer code): nothing to check
        a, b = old.get(key), new.get(key)
        label = f"{name}:{key}"
        if key not in new:
            checks.append(Check(label, a, "missing", None, False))
            continue
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (a, b))
        head, _, leaf = key.rpartition("/")
        if numeric and head in per_fold and FOLD_LEAF.match(leaf):
            tol = max(Z * per_fold[head], 1.0 if isinstance(a, int) else resolution)
            checks.append(Check(label, a, b, tol, math.isclose(a, b, abs_tol=tol)))
        elif numeric and not _exact(key):
            tol = tolerance(key, old, folds=folds, resolution=resolution)
            agrees = math.isclose(a, b, abs_tol=tol) or (math.isnan(a) and math.isnan(b))
            checks.append(Check(label, a, b, tol, agrees))
        elif isinstance(a, str | bool | int | float) or isinstance(b, str | bool | int | float) \
                or a is None or b is None:
            checks.append(Check(label, a, b, None, a == b))
    return checks


STATEMENTS = {
    "06_downstream.json": lambda d: {f"verdict of {row}": v.get("verdict")
                                     for row, v in d.get("rows", {}).items()
                                     if isinstance(v, dict) and "verdict" in v}
    | {"filters that kept nothing": json.dumps(d.get("emptied_by_filter"), sort_keys=True)}
    | {f"oracle verdict of {row}": v.get("verdict")
       for row, v in ((d.get("oracle") or {}).get("rows") or {}).items()
       if isinstance(v, dict) and "verdict" in v}
    | {f"best generator in {fold}": (pick or {}).get("name")
       for fold, pick in ((d.get("oracle") or {}).get("best_generator") or {}).items()},
    "02_chosen.json": lambda d: {f"chosen in {fold}": f"{v.get('strategy')} at N="
                                 f"{v['n'] if v.get('n') is None else int(v['n'])}"
                                 for fold, v in d.get("per_fold", {}).items()},
    # a generator that passes the gate on one machine and fails on another changes what the
    # conclusion may say about it: a statement, not a tolerance
    "03_generators.json": lambda d: {f"gate of {g}": v.get("status")
                                     for g, v in (d.get("gate") or {}).items()},
    "05b_paper_table.json": lambda d: {f"paper table: gate of MPcGAN on {s}": v.get("gate")
                                       for s, v in (d.get("rows") or {}).items()},
}


def statements(name: str, committed: dict, reproduced: dict) -> list[Check]:
    if name not in STATEMENTS:
        return []
    old, new = STATEMENTS[name](committed), STATEMENTS[name](reproduced)
    return [Check(f"statement: {key}", old.get(key), new.get(key), None,
                  old.get(key) == new.get(key)) for key in sorted(set(old) | set(new))]


def _design(metrics_dir: Path) -> tuple[int, float]:
    """(folds x repeats, resolution) of a result set, from its committed files."""
    downstream = json.loads((metrics_dir / "06_downstream.json").read_text(encoding="utf-8"))
    explore = json.loads((metrics_dir / "01_explore.json").read_text(encoding="utf-8"))
    folds = int(downstream.get("folds", 1)) * int(downstream.get("repeats", 1))
    n = explore.get("n_samples") or 1
    return folds, 1.0 / n


def _check_set(names: list[str], committed, reproduced, *, folds: int,
               resolution: float) -> list[Check]:
    """Every file of a result set: ``committed(name)`` against ``reproduced(name)`` (None when
    that side has no such file)."""
    checks = []
    for name in names:
        old, new = committed(name), reproduced(name)
        if old is None or new is None:
            checks.append(Check(name, "missing" if old is None else "present",
                                "missing" if new is None else "present", None, False))
            continue
        checks += compare_files(name, old, new, folds=folds, resolution=resolution)
        checks += statements(name, old, new)
    return checks


def _read(folder: Path):
    return lambda name: (json.loads((folder / name).read_text(encoding="utf-8"))
                         if (folder / name).is_file() else None)


def verify_metrics(metrics_dir: str | Path, *, ref: str = "HEAD", root: str | Path = "."
                   ) -> list[Check]:
    """All checks of one result set (a folder of metrics JSON tracked by git)."""
    metrics_dir = Path(metrics_dir)
    if not list(metrics_dir.glob("*.json")):
        raise DataError("no metrics files", path=metrics_dir,
                        fix="run the pipeline first (`make reproduce`)")
    relative = metrics_dir.resolve().relative_to(Path(root).resolve())
    listed = subprocess.run(["git", "ls-tree", "--name-only", f"{ref}:{relative.as_posix()}"],
                            cwd=root, capture_output=True, text=True).stdout.split()
    names = sorted({*listed, *(p.name for p in metrics_dir.glob("*.json"))} - {".gitignore"})
    folds, resolution = _design(metrics_dir)
    return _check_set(names, lambda name: committed_json(relative / name, ref, root),
                      _read(metrics_dir), folds=folds, resolution=resolution)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "—" if value is None else str(value)


def print_table(title: str, checks: list[Check], *, only_disagreeing: bool = False,
                out=sys.stdout) -> None:
    shown = [c for c in checks if not c.agrees] if only_disagreeing else checks
    print(f"\n## {title}: {sum(c.agrees for c in checks)} of {len(checks)} agree", file=out)
    if not shown:
        return
    print("| metric | committed | reproduced | tolerance | agrees |", file=out)
    print("| --- | ---: | ---: | ---: | --- |", file=out)
    for c in shown:
        tol = "equal" if c.tolerance is None else f"±{c.tolerance:.3g}"
        print(f"| {c.metric} | {_cell(c.committed)} | {_cell(c.reproduced)} | {tol} | "
              f"{'yes' if c.agrees else 'NO'} |", file=out)


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


def verify(*, ref: str = "HEAD", root: str | Path = ".", committed_dir: str | Path | None = None,
           show_all: bool = False, out=sys.stdout) -> bool:
    """Check the default result set (and every rerun dataset result set); True if all agree."""
    from .raw_data import dvc_data_clean

    root = Path(root)
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
    sets = [("default dataset (reports/metrics)", root / "reports" / "metrics")]
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
    for title, metrics_dir in sets:
        if committed_dir is not None:
            checks = verify_against(metrics_dir, Path(committed_dir))
        else:
            checks = verify_metrics(metrics_dir, ref=ref, root=root)
        print_table(title, checks, only_disagreeing=not show_all, out=out)
        said = [c for c in checks if c.metric.startswith("statement:")]
        held = sum(c.agrees for c in said)
        print(f"statements (verdicts, chosen strategies, emptied filters): {held} of "
              f"{len(said)} still hold", file=out)
        ok &= all(c.agrees for c in checks)
    print(f"\nverify: {'AGREES' if ok else 'DISAGREES'} with the committed results "
          f"(tolerance: {Z:g} standard errors of the fold mean, at least one held-out sample)",
          file=out)
    return ok


def verify_against(metrics_dir: Path, committed_dir: Path) -> list[Check]:
    """Like :func:`verify_metrics`, against copies of the committed files in a folder."""
    names = sorted({p.name for p in committed_dir.glob("*.json")}
                   | {p.name for p in metrics_dir.glob("*.json")})
    folds, resolution = _design(committed_dir)
    return _check_set(names, _read(committed_dir), _read(metrics_dir), folds=folds,
                      resolution=resolution)
