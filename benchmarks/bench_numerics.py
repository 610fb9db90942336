"""Which results stay bit-identical on another CPU, and how far the others move.

Usage: python benchmarks/bench_numerics.py [--profile smoke] [--folds 2] [--out NAME]
       python benchmarks/bench_numerics.py --compare RUN_A RUN_B [--out NAME]

Runs the whole DVC pipeline several times in throw-away copies of the project (no git, no
outputs), each under one floating-point setting, and compares every number of every metrics
file (``reports/metrics/*.json``) between the runs:

- ``pinned``: the project's pinned path (:mod:`gansemble_lib.core.numerics`);
- ``pinned, shell set otherwise``: the pinned path while the shell asks for two threads and
  other kernels (the pins must win, so this should equal ``pinned`` bit for bit);
- ``native``: every library's own fastest choice on this CPU (AVX-512 where present), one
  thread per task as before the pinning;
- ``native, other CPU``: native with the choices an older CPU would make (PyTorch's plain
  loops, oneDNN at AVX, MKL at SSE4.2, OpenBLAS Sandybridge kernels, NumPy without AVX-512);
- ``pinned, one worker``: the pinned path with ``evaluation.workers: 1`` (the tasks run one
  after another on one Dask worker: the results must not depend on it).

A CPU that is not an x86-64 with AVX2 runs other kernels even when pinned: ``native, other
CPU`` against ``native`` is the size of that move. ``--compare`` compares two finished result
folders instead (e.g. two full default runs). Writes ``benchmarks/results/numerics_<out>.md``
and ``.csv`` and prints the table; ``--keep DIR`` keeps each run's metrics. Run it on an
otherwise idle machine (it takes both cores).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gansemble_lib.core.numerics import NATIVE, NUMERICS_ENV, PINS  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
IGNORE = shutil.ignore_patterns(".venv", ".git", "data", "reports", "models", "folds", "runs",
                                "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache")
SETTINGS: dict[str, dict[str, str]] = {
    "pinned": {},
    "pinned, shell set otherwise": {"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2",
                                    "ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "SSE4_2"},
    "native": {NUMERICS_ENV: NATIVE, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1"},
    "native, other CPU": {NUMERICS_ENV: NATIVE, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                          "OPENBLAS_NUM_THREADS": "1", "ATEN_CPU_CAPABILITY": "default",
                          "ONEDNN_MAX_CPU_ISA": "AVX", "MKL_CBWR": "SSE4_2",
                          "OPENBLAS_CORETYPE": "Sandybridge",
                          "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR"},
}
# settings that change params.yaml rather than the environment (on top of the pinned path)
PARAM_SETTINGS: dict[str, dict[str, dict[str, object]]] = {
    "pinned, one worker": {"evaluation": {"workers": 1}},
}
SETTINGS.update(dict.fromkeys(PARAM_SETTINGS, {}))
# what describes a run rather than measures it
SKIP = ("seconds", "colophon", "weights_sha256", "conclusion", "note", "notice")


def _run(setting: str, profile: str, folds: int, work: Path) -> Path:
    dest = work / setting.replace(",", "").replace(" ", "_")
    shutil.copytree(REPO, dest, ignore=IGNORE)
    env = {k: v for k, v in os.environ.items() if k not in PINS and k != NUMERICS_ENV}
    env.update(SETTINGS[setting])
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    py = [sys.executable, "-m"]
    steps = [[*py, "dvc", "config", "core.no_scm", "true"], [*py, "gansemble_lib", "fetch-data"],
             [*py, "gansemble_lib", "profile", profile]]
    for cmd in steps:
        subprocess.run(cmd, cwd=dest, env=env, check=True, capture_output=True)
    if folds or setting in PARAM_SETTINGS:
        import yaml

        params = yaml.safe_load((dest / "params.yaml").read_text(encoding="utf-8"))
        if folds:
            params["evaluation"]["folds"] = folds
        for section, values in PARAM_SETTINGS.get(setting, {}).items():
            params[section].update(values)
        (dest / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    started = time.perf_counter()
    done = subprocess.run([*py, "dvc", "repro"], cwd=dest, env=env, capture_output=True,
                          text=True)
    if done.returncode:
        sys.exit(f"{setting}: dvc repro failed\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    print(f"{setting}: pipeline ran in {time.perf_counter() - started:.0f} s", flush=True)
    return dest / "reports" / "metrics"


def _flat(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        out: dict[str, object] = {}
        for key, item in value.items():
            out.update(_flat(item, f"{prefix}/{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_flat(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def numbers(metrics: Path) -> dict[str, object]:
    """Every number and statement of a result set, keyed by file:path."""
    found = {}
    for path in sorted(metrics.glob("*.json")):
        if path.name == "rerun_noise.json":
            continue
        flat = _flat(json.loads(path.read_text(encoding="utf-8")))
        found.update({f"{path.name}:{k}": v for k, v in flat.items()
                      if not any(s in k for s in SKIP)})
    return found


def compare(a: dict[str, object], b: dict[str, object]) -> dict[str, object]:
    keys = sorted(set(a) & set(b))
    nums = [k for k in keys if isinstance(a[k], int | float) and not isinstance(a[k], bool)
            and isinstance(b[k], int | float) and not isinstance(b[k], bool)]
    texts = [k for k in keys if k not in nums]
    moved = [(abs(float(a[k]) - float(b[k])), k) for k in nums
             if not (a[k] == b[k] or (math.isnan(float(a[k])) and math.isnan(float(b[k]))))]
    f1 = [d for d, k in moved if k.startswith("06_downstream.json:rows/")
          and k.endswith("macro_f1_mean")]
    statements = [k for k in texts if a[k] != b[k]]
    return {"numbers": len(nums), "identical": len(nums) - len(moved),
            "max_move": max((d for d, _ in moved), default=0.0),
            "max_macro_f1_move": max(f1, default=0.0),
            "statements": len(texts), "statements_changed": len(statements),
            "changed": statements[:8]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="smoke")
    parser.add_argument("--folds", type=int, default=2, help="outer folds (0: the profile's)")
    parser.add_argument("--settings", default=";".join(SETTINGS),
                        help="names of SETTINGS separated by ';' (the names hold commas)")
    parser.add_argument("--compare", nargs=2, metavar=("RUN_A", "RUN_B"))
    parser.add_argument("--out", default=None)
    parser.add_argument("--keep", default=None, help="copy each run's reports/metrics here")
    args = parser.parse_args()
    if args.compare:
        sets = {name: numbers(Path(name)) for name in args.compare}
        pairs = [tuple(args.compare)]
    else:
        with tempfile.TemporaryDirectory(prefix="bench_numerics_") as work:
            sets = {}
            for setting in (name.strip() for name in args.settings.split(";")):
                metrics = _run(setting, args.profile, args.folds, Path(work))
                sets[setting] = numbers(metrics)
                if args.keep:  # the result folder, e.g. for `gansemble verify --committed`
                    kept = Path(args.keep) / metrics.parent.parent.name
                    shutil.copytree(metrics, kept / "metrics", dirs_exist_ok=True)
                    shutil.copy2(metrics.parent.parent / "dvc.lock", kept / "dvc.lock")
        first = next(iter(sets))
        pairs = [(first, other) for other in sets if other != first]
        if "native" in sets and "native, other CPU" in sets:
            pairs.append(("native", "native, other CPU"))
    rows = [{"a": a, "b": b, **compare(sets[a], sets[b])} for a, b in pairs]
    name = args.out or (f"{args.profile}_{args.folds}folds" if not args.compare else "compare")
    lines = [f"# Numerical path: what moves between runs ({name})", "",
             "| run A | run B | numbers | bit-identical | largest move | largest macro-F1 "
             "move | statements changed |", "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        lines.append(f"| {r['a']} | {r['b']} | {r['numbers']} | {r['identical']} | "
                     f"{r['max_move']:.3g} | {r['max_macro_f1_move']:.3g} | "
                     f"{r['statements_changed']} of {r['statements']}"
                     + (f" ({'; '.join(r['changed'])})" if r["changed"] else "") + " |")
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"numerics_{name}.md").write_text(text, encoding="utf-8")
    import csv

    with open(RESULTS / f"numerics_{name}.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=[k for k in rows[0] if k != "changed"])
        writer.writeheader()
        writer.writerows({k: v for k, v in r.items() if k != "changed"} for r in rows)
    print(text)


if __name__ == "__main__":
    main()
