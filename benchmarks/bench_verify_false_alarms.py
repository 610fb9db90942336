"""How often does `gansemble verify` cry wolf? Out-of-sample false alarms on honest reruns.

Usage: python benchmarks/bench_verify_false_alarms.py NAME=METRICS_DIR NAME=METRICS_DIR
       NAME=METRICS_DIR [--out NAME]

Three honest runs of the same design (e.g. the committed default results of two machines and a
rerun kept by ``benchmarks/bench_numerics.py --keep``). For each way of choosing two of them,
the rerun noise is estimated from that pair
(:func:`gansemble_lib.reporting.verify.estimate_rerun_noise`)
and the third run is verified against each of the two (calibrated tolerances, family-wise z):
every number outside its tolerance and every changed statement there is a false alarm, since
all three runs are honest. Numbers only one run records (newer code) are left out. Writes
``benchmarks/results/verify_false_alarms_<out>.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from itertools import combinations
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gansemble_lib.reporting import verify as vf  # noqa: E402
from gansemble_lib.reporting import verify_numbers as vn  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs=3, help="NAME=METRICS_DIR")
    parser.add_argument("--out", default="default")
    args = parser.parse_args()
    runs = dict(item.split("=", 1) for item in args.runs)
    names = list(runs)
    lines = [f"# verify's false alarms on honest reruns ({args.out})", "",
             "| noise estimated from | verified | against | numbers outside | statements "
             "changed (borderline among them) | changed, not borderline |",
             "| --- | --- | --- | ---: | ---: | --- |"]
    with tempfile.TemporaryDirectory() as work:
        for pair in combinations(names, 2):
            third = next(n for n in names if n not in pair)
            noise = vn.estimate_rerun_noise(runs[pair[0]], runs[pair[1]])
            for committed_name in pair:
                committed = Path(work) / "committed"
                shutil.rmtree(committed, ignore_errors=True)
                shutil.copytree(runs[committed_name], committed)
                (committed / vn.NOISE_FILE).write_text(json.dumps(noise), encoding="utf-8")
                checks = vf.verify_against(runs[third], committed)
                numbers = [c for c in checks if not c.statement and c.reproduced != "missing"]
                said = [c for c in checks if c.statement]
                outside = [c for c in numbers if not c.agrees]
                changed = [c for c in said if not c.agrees]
                hard = [c.metric.removeprefix("statement: ") for c in changed
                        if not c.borderline]
                lines.append(f"| {pair[0]} vs {pair[1]} | {third} | {committed_name} | "
                             f"{len(outside)} of {len(numbers)} | {len(changed)} of {len(said)} "
                             f"({sum(c.borderline for c in changed)}) | {'; '.join(hard)} |")
    text = "\n".join(lines) + "\n"
    out = REPO / "benchmarks" / "results" / f"verify_false_alarms_{args.out}.md"
    out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
